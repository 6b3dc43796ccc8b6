export { routes, service } from './app.js';
