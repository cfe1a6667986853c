// GraphiQL at /graphql, bundled from npm (no CDN): queries go to this server with the console session's
// key (sessionStorage), over HTTP and graphql-ws.
import { createGraphiQLFetcher } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { buildSchema } from 'graphql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import 'graphiql/style.css';

import sdl from '../../../schema/schema.graphql?raw';

import { storedKey } from '../session.js';
import { mendAccessibility } from './accessibility.js';
import './graphiql.css';

// The schema ships with the page (schema/schema.graphql): docs and completion work without introspection,
// which production servers turn off (HBI_INTROSPECTION).
const schema = buildSchema(sdl);
const key = storedKey();
const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
const fetcher = createGraphiQLFetcher({
  url: '/graphql',
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
  headers,
  wsConnectionParams: headers,
});

const root = document.getElementById('graphiql');
if (root) {
  mendAccessibility(root);
  createRoot(root).render(
    <StrictMode>
      {key ? null : (
        <p className="graphiql-note" role="status">
          Not signed in: <a href="/">sign in to the console</a> first, or add an{' '}
          <code>authorization: Bearer …</code> header below.
        </p>
      )}
      <GraphiQL
        fetcher={fetcher}
        schema={schema}
        defaultQuery={'query {\n  viewer {\n    role\n    tenantId\n  }\n}\n'}
      />
    </StrictMode>,
  );
}
