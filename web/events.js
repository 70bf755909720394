// The server's one event stream, /events, as messages: {type:'live', live, reopened} when it
// connects or drops, {type:'import', change} for every import (its tests, or flush), and
// {type:'resync'} when changes may have gone unannounced (read everything again). Used by
// the shared worker (live-worker.js) and, where there is none, by the page itself (live.js).
'use strict';

export function openEvents(send) {
  const source = new EventSource('/events');
  let opened = false;
  source.addEventListener('open', () => {
    // After a drop, changes may have been missed: reopened tells the pages to read again.
    send({ type: 'live', live: true, reopened: opened });
    opened = true;
  });
  source.addEventListener('error', () => send({ type: 'live', live: false, reopened: false }));
  source.addEventListener('import', (e) => {
    try {
      send({ type: 'import', change: JSON.parse(e.data) });
    } catch {
      send({ type: 'import', change: { flush: true } }); // unreadable: anything may have changed
    }
  });
  source.addEventListener('resync', () => send({ type: 'resync' }));
  return source;
}
