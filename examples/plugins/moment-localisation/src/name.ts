/** The plugin's name (its package folder's name), used to find its context from resolvers. */
export const PLUGIN_NAME = 'moment-localisation';

/** The task kind this plugin handles. */
export const LOCALISE_TASK = 'moment.localise';
