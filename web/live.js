// The page's live messages (events.js) through the browser's one shared connection
// (live-worker.js), or through the page's own where shared workers do not exist (some
// mobile browsers, where one tab at a time is the rule): one connection per page at most.
'use strict';

import { openEvents } from './events.js';

export function connectLive(receive) {
  if (typeof SharedWorker === 'function') {
    try {
      const worker = new SharedWorker('/static/live-worker.js', { type: 'module', name: 'markr-live' });
      worker.port.addEventListener('message', (e) => receive(e.data));
      worker.port.start();
      // A browser whose shared workers cannot be modules fails to load it: the page's own.
      worker.addEventListener('error', () => openEvents(receive), { once: true });
      // Tells the worker this tab is gone, so that the last one leaving closes the stream.
      addEventListener('pagehide', () => worker.port.postMessage({ type: 'bye' }));
      // Back from the back-forward cache: the worker may have closed the stream meanwhile.
      addEventListener('pageshow', (e) => { if (e.persisted) location.reload(); });
      return;
    } catch (e) {
      console.warn('no shared worker; this page holds its own stream', e);
    }
  }
  openEvents(receive);
}
