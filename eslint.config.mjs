import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/out-tsc', '**/coverage', '**/test-output', '**/*.timestamp*'],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.cts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    rules: {
      // Architecture (README "Lint and format"): type:* says what may import what, scope:* keeps
      // CI code (AWS SDK, Nx, Docker) out of the service images and service code out of the tools.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          // Off: nothing imports a lib's build output; every project reads workspace sources
          // through the @engex/source condition, and only executables are bundled.
          enforceBuildableLibDependency: false,
          // The one vitest config every project's vitest.config.ts imports (a root file, no project).
          allow: ['../../vitest.shared.mjs'],
          depConstraints: [
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:tool', 'type:app'] },
            { sourceTag: 'scope:service', onlyDependOnLibsWithTags: ['scope:service'] },
            { sourceTag: 'scope:ci', onlyDependOnLibsWithTags: ['scope:ci'] },
          ],
        },
      ],
      // Nx turns these on as warnings; errors here, so lint has no warnings to ignore.
      '@typescript-eslint/no-explicit-any': 'error',
      // `_`-prefixed names and rest siblings are deliberate: `const { secret: _s, ...rest } = x` omits a key.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Off, as in typescript-eslint's recommended set: every `!` follows a match or a validated
      // lookup the type system cannot see, and tsc's strict null checks stay on.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Off, as in typescript-eslint's recommended set: `() => {}` is our no-op logger and sleep,
      // and `.catch(() => {})` a rejection deliberately ignored.
      '@typescript-eslint/no-empty-function': 'off',
    },
  },
];
