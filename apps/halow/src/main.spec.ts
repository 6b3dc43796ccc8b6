import { serviceBundleContract } from '@engex/service-kit/testing';

// The real artifact the image ships (the `test` target depends on `build`, so it is fresh),
// held to what every engex service's bundle promises. The routes named here are this service's
// own: a GET, and a route that takes a JSON body for the drain tests to hold open.
serviceBundleContract({
  bundle: new URL('../dist/main.cjs', import.meta.url),
  project: '@engex/halow',
  service: 'halow',
  get: { path: '/hello?name=x', route: '/hello', expect: { status: 200, body: '{"message":"hello, x"}' } },
  slow: {
    path: '/hello',
    json: (label) => ({ name: label }),
    expect: (label) => ({ status: 200, body: JSON.stringify({ message: `hello, ${label}` }) }),
  },
});
