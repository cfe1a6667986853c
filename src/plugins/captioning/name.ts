/** The plugin's name: its folder's name. */
export const PLUGIN_NAME = 'captioning';
