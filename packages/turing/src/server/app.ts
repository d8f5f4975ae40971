import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { IMAGES_DIR, type Rater, type StudyStore, type Verdict } from '../store/store.js';
import { TOKEN_PATTERN } from '../tokens.js';
import { donePage, messagePage, ratingPage } from './pages.js';

export interface AppOptions {
  /** Largest accepted request body in bytes (default 2048; an answer is under 100). */
  bodyLimit?: number;
  /** Fastify's logger (default off: the study server logs nothing about raters). */
  logger?: boolean;
}

const IMAGE_ID = /^[0-9a-f]{32}$/;
const HTML = 'text/html; charset=utf-8';

interface AnswerBody {
  position: number;
  verdict: Verdict;
  confidence: number;
  diagnosis?: string;
}

/**
 * The raters' web app over an open study. Routes:
 * - `GET /r/:token` the next image (or the thank-you page), `POST /r/:token/answer` saves the answer
 *   and redirects (303) to the next one, so the next image is shown only after the answer is on disk;
 * - `GET /r/:token/image/:id` an image of that rater's list, looked up by its opaque id in the
 *   database (no part of the URL is used as a path).
 * A missing or wrong token gets 403 and no image.
 */
export async function buildApp(store: StudyStore, options: AppOptions = {}): Promise<FastifyInstance> {
  const info = store.info();
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 2048,
    // Reject unknown fields instead of silently dropping them.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true } },
    return503OnClosing: true,
  });
  await app.register(formbody, { bodyLimit: options.bodyLimit ?? 2048 });
  // Answers come as a form (or JSON); anything else is refused with 415 rather than parsed.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (req, reply) => {
    const nonce = randomBytes(16).toString('base64');
    (req as FastifyRequest & { nonce: string }).nonce = nonce;
    reply.headers({
      'content-security-policy': `default-src 'none'; img-src 'self'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
      'referrer-policy': 'no-referrer',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    });
  });

  const nonceOf = (req: FastifyRequest) => (req as FastifyRequest & { nonce: string }).nonce;
  /** Replies with a short page: a title and one sentence. */
  const message = (req: FastifyRequest, reply: FastifyReply, status: number, title: string, text: string) =>
    reply
      .code(status)
      .type(HTML)
      .send(messagePage(nonceOf(req), title, text));

  /** Route hook: the rater of the URL's token, or 403 before any body is read. */
  const requireRater = async (req: FastifyRequest, reply: FastifyReply) => {
    const { token } = req.params as { token: string };
    const rater = TOKEN_PATTERN.test(token) ? store.raterByToken(token) : undefined;
    if (!rater) {
      const text = 'This invitation link is not valid. Ask the study organiser for yours.';
      return message(req, reply, 403, 'Link not valid', text);
    }
    (req as FastifyRequest & { rater: Rater }).rater = rater;
  };
  const raterOf = (req: FastifyRequest) => (req as FastifyRequest & { rater: Rater }).rater;

  app.get('/', async (req, reply) =>
    message(req, reply, 200, info.name, 'Open the personal invitation link you were given.'),
  );

  app.get('/r/:token', { onRequest: requireRater }, async (req, reply) => {
    const rater = raterOf(req);
    const p = store.progress(rater.id);
    const token = (req.params as { token: string }).token;
    reply.type(HTML);
    if (!p.next) return reply.send(donePage(nonceOf(req), rater.name, p.total));
    return reply.send(
      ratingPage({
        nonce: nonceOf(req),
        studyName: info.name,
        rater: rater.name,
        token,
        position: p.next.position,
        imageId: p.next.imageId,
        answered: p.answered,
        total: p.total,
        classes: info.classes,
      }),
    );
  });

  app.get('/r/:token/image/:id', { onRequest: requireRater }, async (req, reply) => {
    const rater = raterOf(req);
    const { id } = req.params as { id: string };
    // The id must look like one of ours AND be in this rater's list; only then is a file name built.
    if (!IMAGE_ID.test(id) || !store.isAssigned(rater.id, id)) {
      return reply.code(404).type('text/plain; charset=utf-8').send('no such image');
    }
    const bytes = await fs.readFile(join(store.dir, IMAGES_DIR, `${id}.png`));
    return reply.type('image/png').header('cache-control', 'private, max-age=3600').send(bytes);
  });

  app.post(
    '/r/:token/answer',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['position', 'verdict', 'confidence'],
          properties: {
            position: { type: 'integer', minimum: 0 },
            verdict: { type: 'string', enum: ['real', 'synthetic'] },
            confidence: { type: 'integer', minimum: 1, maximum: 5 },
            diagnosis: { type: 'string', enum: ['', ...info.classes] },
          },
        },
      },
      // The token is checked before the body is read, so a stranger learns nothing from 400s.
      onRequest: requireRater,
    },
    async (req, reply) => {
      const rater = raterOf(req);
      const body = req.body as AnswerBody;
      const outcome = store.answer(
        rater.id,
        body.position,
        { verdict: body.verdict, confidence: body.confidence, diagnosis: body.diagnosis || null },
        new Date().toISOString(),
      );
      if (outcome === 'not-current') {
        const text = 'That image is not the one waiting for your answer. Open your link again to continue.';
        return message(req, reply, 409, 'Out of step', text);
      }
      // Saved (or saved before): show the next image.
      return reply.redirect(`/r/${(req.params as { token: string }).token}`, 303);
    },
  );

  app.setNotFoundHandler((req, reply) => message(req, reply, 404, 'Not found', 'There is nothing here.'));
  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const text = status === 500 ? 'The server could not save or show this. Try again.' : err.message;
    if (status === 500) req.log.error(err);
    return message(req, reply, status, `Error ${status}`, text);
  });
  return app;
}
