// The shared worker that holds the browser's one connection to /events for every tab of the
// dashboard (ADR 0029): a browser opens at most six HTTP/1.1 connections to a host, so a
// stream per tab would starve the seventh tab's reads. Each tab gets every message.
'use strict';

import { openEvents } from './events.js';

const ports = new Set();
let source = null;
let last = { type: 'live', live: false, reopened: false };

function broadcast(message) {
  if (message.type === 'live') last = { ...message, reopened: false };
  for (const port of ports) port.postMessage(message);
}

self.addEventListener('connect', (e) => {
  const port = e.ports[0];
  ports.add(port);
  port.addEventListener('message', (m) => {
    if (m.data?.type !== 'bye') return;
    ports.delete(port); // the tab went away
    if (ports.size === 0 && source !== null) {
      source.close();
      source = null;
      last = { type: 'live', live: false, reopened: false };
    }
  });
  port.start();
  port.postMessage(last); // the tab reads everything once itself: nothing to replay
  if (source === null) source = openEvents(broadcast);
});
