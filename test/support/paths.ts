import { fileURLToPath } from 'node:url';

/** Repository root (tests run from dist/test/...). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const EXAMPLES_DIR = `${REPO_ROOT}examples`;
export const GOLDEN_DIR = `${REPO_ROOT}golden`;
