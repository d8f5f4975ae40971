export { main } from './main.js';
export { createProgram } from './program.js';
