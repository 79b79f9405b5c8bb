import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Test files mostly wait (on spawned CLIs, on the S3 server): more files at once than cores.
    // vitest's default is one fewer than the cores: a single file at a time on 2.
    maxWorkers: 3,
    // oclif prints through console.log; let @oclif/test and command tests capture stdout.
    disableConsoleIntercept: true,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/global-setup.s3.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' },
  },
});
