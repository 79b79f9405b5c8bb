// Issue 15: commands racing each other on one version, bucket or cache; a damaged catalog.
import { damageScenarios } from './damage.js';
import { raceScenarios } from './races.js';
import { shortProfile } from './short-profile.js';

shortProfile('races and a damaged catalog', (trees) => [...raceScenarios(trees), ...damageScenarios(trees)]);
