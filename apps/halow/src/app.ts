import { defineService, type FastifyPluginAsync } from '@engex/service-kit';

// Letters and digits of any script, plus space . _ ' -: enough for names, nothing markup-like.
const NAME = { type: 'string', minLength: 1, maxLength: 64, pattern: "^[\\p{L}\\p{N} ._'-]+$" } as const;

const helloResponse = {
  200: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] },
} as const;

/** halow's own API; the shared routes (/healthz, /readyz, /version, /metrics) come from the kit. */
export const routes: FastifyPluginAsync = async (app) => {
  app.get<{ Querystring: { name: string } }>(
    '/hello',
    {
      schema: {
        querystring: { type: 'object', properties: { name: NAME }, required: ['name'] },
        response: helloResponse,
      },
    },
    async (request) => ({ message: `hello, ${request.query.name}` }),
  );

  // The same greeting with the name in a JSON body: the example of a body-validated route.
  app.post<{ Body: { name: string } }>(
    '/hello',
    {
      schema: {
        body: { type: 'object', properties: { name: NAME }, required: ['name'] },
        response: helloResponse,
      },
    },
    async (request) => ({ message: `hello, ${request.body.name}` }),
  );
};

export const service = defineService({ name: 'halow', defaultPort: 3000, routes });
