/**
 * Whether this run is CI's: any non-empty CI value counts (CI systems set "true", "1", "yes" …),
 * and under CI a test that needs root, a server or a browser fails instead of skipping.
 */
export const inCI = (env: NodeJS.ProcessEnv = process.env): boolean => (env.CI ?? '') !== '';
