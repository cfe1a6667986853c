// Builds the web console into dist/web, where the gateway serves it (src/core/gateway/console-route.ts).
// Two pages: the app (index.html) and GraphiQL (graphiql.html, served at /graphql to browsers).
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vite';

const here = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

export default defineConfig({
  root: here('./'),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    // GraphiQL's editor is large; it loads only on its own page.
    chunkSizeWarningLimit: 2048,
    rollupOptions: {
      input: { index: here('./index.html'), graphiql: here('./graphiql.html') },
      // GraphiQL's dependencies mark their modules "use client" (React Server Components), meaningless here.
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  // The app's routes are served by the gateway in production; `vite` in web/ proxies the API to it.
  server: {
    proxy: {
      '/graphql': { target: 'http://127.0.0.1:4000', ws: true },
      '/uploads': 'http://127.0.0.1:4000',
      '/media': 'http://127.0.0.1:4000',
    },
  },
});
