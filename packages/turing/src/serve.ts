import { resolve } from 'node:path';
import { buildApp } from './server/app.js';
import { StudyStore } from './store/store.js';

export interface ServeOptions {
  /** Default 127.0.0.1: reachable from this machine only unless asked. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  bodyLimit?: number;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8080 */
  url: string;
  store: StudyStore;
  close(): Promise<void>;
}

/** Opens the study and serves the raters' web app until `close()`. */
export async function serveStudy(dir: string, options: ServeOptions = {}): Promise<RunningServer> {
  const store = StudyStore.open(resolve(dir));
  try {
    const app = await buildApp(store, options.bodyLimit ? { bodyLimit: options.bodyLimit } : {});
    const host = options.host ?? '127.0.0.1';
    await app.listen({ host, port: options.port ?? 8080 });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : options.port;
    const shown = host.includes(':') ? `[${host}]` : host;
    return {
      url: `http://${shown}:${port}`,
      store,
      close: async () => {
        await app.close();
        store.close();
      },
    };
  } catch (e) {
    store.close();
    throw e;
  }
}
