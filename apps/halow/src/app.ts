import { defineService, type FastifyPluginAsync } from '@engex/service-kit';

// Letters and digits of any script, plus space . _ ' -: enough for names, nothing markup-like.
const NAME = { type: 'string', minLength: 1, maxLength: 64, pattern: "^[\\p{L}\\p{N} ._'-]+$" } as const;

/** The greeting's schema, with the name taken from the query string or the JSON body. */
const hello = (from: 'querystring' | 'body') => ({
  schema: {
    [from]: { type: 'object', properties: { name: NAME }, required: ['name'] },
    response: { 200: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } },
  },
});

/** halow's own API; the shared routes (/healthz, /readyz, /version, /metrics) come from the kit. */
export const routes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: { name: string } }>('/hello', hello('querystring'), async (request) => ({ message: `hello, ${request.query.name}` }));
  // The same greeting with the name in a JSON body: the example of a body-validated route.
  app.post<{ Body: { name: string } }>('/hello', hello('body'), async (request) => ({ message: `hello, ${request.body.name}` }));
};

export const service = defineService({ name: 'halow', defaultPort: 3000, routes });
