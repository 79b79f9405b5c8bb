// Types of eslint.config.js for the tests that read its layer table (test/unit/layers.test.ts).
import type { Linter } from 'eslint';

export const LAYERS: Record<string, readonly string[]>;
declare const config: Linter.Config[];
export default config;
