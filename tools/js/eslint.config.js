// ESLint for the browser app: plain ES modules in src/ringdesk/web/static/js, run from the repo
// root (`make js`). Formatting is not linted (the code is Prettier-wrapped); these rules catch
// mistakes. Use before definition is left to tsc, which knows a callback runs later.
import js from "@eslint/js";
import globals from "globals";

export default [
  {
    files: ["src/ringdesk/web/static/js/**/*.js"],
    ...js.configs.recommended,
  },
  {
    files: ["src/ringdesk/web/static/js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: globals.browser,
    },
    linterOptions: {
      reportUnusedDisableDirectives: "error",
    },
    rules: {
      eqeqeq: ["error", "always", { null: "ignore" }],
      "no-var": "error",
      "prefer-const": "error",
      "no-shadow": "error",
      "no-implicit-coercion": ["error", { allow: ["!!"] }],
      "no-param-reassign": "off",
      "no-unused-vars": ["error", { argsIgnorePattern: "^_", caughtErrors: "none" }],
      "no-console": "error",
      "no-alert": "error",
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      "no-return-assign": "error",
      "no-self-compare": "error",
      "no-throw-literal": "error",
      "no-unmodified-loop-condition": "error",
      "no-unused-expressions": "error",
      "no-useless-concat": "error",
      "no-useless-return": "error",
      "prefer-template": "off",
      "require-await": "off",
      "no-await-in-loop": "off",
      "no-promise-executor-return": "error",
      "no-constructor-return": "error",
      "no-unreachable-loop": "error",
      "array-callback-return": "error",
      "default-case-last": "error",
      "dot-notation": "error",
      "object-shorthand": ["error", "properties"],
    },
  },
];
