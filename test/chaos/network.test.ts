// Issue 16: a flaky network (a fault proxy before RGW) and full disks (tmpfs, as root).
import { diskScenarios } from './disk.js';
import { networkScenarios } from './network.js';
import { shortProfile } from './short-profile.js';

shortProfile('a flaky network and full disks', (trees) => [...networkScenarios(trees), ...diskScenarios(trees)]);
