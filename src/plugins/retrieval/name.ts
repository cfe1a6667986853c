/** The plugin's name: its folder's name, used to find its context from resolvers. */
export const PLUGIN_NAME = 'retrieval';
