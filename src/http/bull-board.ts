import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';

/** Bull Board for `queues`, as an Express router to mount at `basePath`. */
export function bullBoardRouter(queues: readonly Queue[], basePath: string): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'rpa-pool' } },
  });
  // The adapter's router is an Express app of its own, which would announce itself again.
  const app = serverAdapter.getRouter() as Router & { disable?: (setting: string) => unknown };
  app.disable?.('x-powered-by');
  return app;
}
