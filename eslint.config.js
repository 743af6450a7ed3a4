import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'coverage/', 'src/console/static/vendor/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  {
    files: ['src/cli/**', 'bench/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // The duty console's browser modules: plain ES modules served as they are, no build step.
    files: ['src/http/console/static/**/*.js'],
    languageOptions: {
      ecmaVersion: 2024,
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'WebSocket', 'sessionStorage', 'Intl', 'URL', 'URLSearchParams', 'AbortSignal', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'console'].map(
          (name) => [name, 'readonly'],
        ),
      ),
    },
  },
);
