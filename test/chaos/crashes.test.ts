// Issue 15: every command killed at a random moment and at each named fault point, then run again.
import { crashScenarios } from './crashes.js';
import { shortProfile } from './short-profile.js';

shortProfile('crashes', crashScenarios);
