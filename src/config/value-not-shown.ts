/**
 * Said in place of a value from a Secret: `npm run deploy` reads the Secrets the manifests hold and
 * prints what the receiver would refuse to a terminal or CI log, where a Secret's value must not go.
 */
export const VALUE_NOT_SHOWN = 'its value, from a Secret, is not shown';
