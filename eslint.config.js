import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Which src/ folder may import which (docs/architecture.md). Imports run one way: a folder may
 * import only the folders listed for it; anything else under src/ (main.ts included) is an error.
 */
const MAY_IMPORT = {
  lib: [],
  shared: ['lib'],
  config: ['lib', 'shared'],
  logging: ['lib', 'shared', 'config'],
  redis: ['lib', 'shared', 'config', 'logging'],
  flows: ['lib', 'shared', 'config', 'logging'],
  cluster: ['lib', 'shared', 'config', 'logging', 'redis'],
  history: ['lib', 'shared', 'config', 'logging', 'redis'],
  workers: ['lib', 'shared', 'config', 'logging', 'redis', 'flows'],
  capacity: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers'],
  pool: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers'],
  scaler: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers'],
  bridge: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers'],
  dev: ['lib', 'shared', 'config', 'logging', 'redis', 'workers'],
  http: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers', 'pool', 'scaler', 'bridge'],
  alerts: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers', 'pool', 'scaler', 'bridge'],
  items: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers', 'pool', 'scaler', 'bridge'],
  service: [
    'lib',
    'shared',
    'config',
    'logging',
    'redis',
    'flows',
    'cluster',
    'history',
    'workers',
    'capacity',
    'pool',
    'scaler',
    'bridge',
    'http',
    'alerts',
  ],
  demo: ['lib', 'shared', 'config', 'logging', 'redis', 'flows', 'workers', 'dev'],
};

/** One `no-restricted-imports` block per folder, naming the folders it must not reach. */
const importDirection = Object.entries(MAY_IMPORT).map(([folder, allowed]) => {
  const forbidden = [...Object.keys(MAY_IMPORT), 'main'].filter((f) => f !== folder && !allowed.includes(f));
  return {
    files: [`src/${folder}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbidden.join('|')})(/|\\.js$|$)`,
              message: `src/${folder} may import only ${allowed.join(', ') || 'no other src folder'} (docs/architecture.md).`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'artifacts/**', 'logs/**', 'src/http/public/**', 'bench/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...importDirection,
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
