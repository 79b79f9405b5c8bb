import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers of src (../shared/DESIGN.md; docs/development.md draws them): each folder may import
 * only the folders listed for it, so an upward import fails `npm run check`. The middle floor is
 * ordered cache → transfer → jobs → storage → catalog, an import pointing down that list, except
 * that cache and transfer reach the catalog only through interfaces they define (a service
 * implements them) and storage, which knows nothing of datasets, never imports the catalog.
 * Commands (and the web UI beside them) import ui, services and core: never a lower floor.
 */
export const LAYERS = {
  core: [],
  catalog: ['core'],
  storage: ['core'],
  jobs: ['core', 'storage', 'catalog'],
  transfer: ['core', 'jobs', 'storage'],
  cache: ['core', 'transfer', 'jobs', 'storage'],
  services: ['core', 'cache', 'transfer', 'jobs', 'storage', 'catalog'],
  ui: ['core', 'services'],
  commands: ['core', 'services', 'ui'],
  web: ['core', 'services', 'ui'],
};

/** One block per layer forbidding imports of every other folder of src it may not use. */
const layerRules = Object.entries(LAYERS).map(([layer, allowed]) => {
  const forbidden = Object.keys(LAYERS).filter((l) => l !== layer && !allowed.includes(l));
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((other) => ({
            // relative imports climbing to src/<other>/ (src's folders are not nested in one another)
            regex: `^(\\.\\./)+${other}/`,
            message: `${layer} may not import ${other}: the layers (eslint.config.js LAYERS, ../shared/DESIGN.md) allow ${allowed.join(', ') || 'nothing of src'}.`,
          })),
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'bench/data/', 'coverage/', 'test-results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The launcher (bin/run.cjs) is CommonJS: it loads the bundle as require() would.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'readonly', __dirname: 'readonly', __filename: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  ...layerRules,
);
