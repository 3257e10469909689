// @ts-check
// `npm run lint`: the recommended rules of ESLint and typescript-eslint over src/, test/ and bench/.
// The type-checked rule sets are left out: they need the whole program built, which `npm run
// typecheck` already does, and would make the lint several times slower.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'bench/.out/', '.mailvault/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: {
      // Everything here runs on Node (the bench's plain .mjs servers included).
      globals: globals.node,
    },
    rules: {
      // `any` is kept where untyped data comes in: JSON bodies the tests assert on, the parsed
      // CSDL, mailsplit's and nodemailer's internals, Kysely's table-generic builders. Strict tsc
      // checks everything else.
      '@typescript-eslint/no-explicit-any': 'off',
      // A `_`-named binding is deliberately unused: it drops a property from a `...rest` copy or
      // holds a position in a parameter list or a destructured array.
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      // The patterns that match control characters do so on purpose: they reject or escape them
      // in header values, names and stored text.
      'no-control-regex': 'off',
      // `cond ? (a = x) : (b = y)` as a statement picks which of two variables to fill.
      '@typescript-eslint/no-unused-expressions': ['error', { allowTernary: true }],
      // An object literal's getter sees the literal as `this`; the job runner hands its context a
      // getter that reads the runner's own state through this name.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['runner'] }],
    },
  },
);
