// The live notification stream: a fresh single-use ticket for every connection, replay from the
// highest event number already shown, reconnection with capped, jittered backoff, and a watchdog
// that treats a silent socket (no frame for twice the heartbeat interval) as dead.

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const ASSUMED_HEARTBEAT_MS = 15000; // until two heartbeats show the real interval
const MIN_DEAD_AFTER_MS = 2000;
const MAX_DEAD_AFTER_MS = 30000;

/**
 * options: getTicket() → Promise<ticket>, highest() → number, onFrame(frame), onState('connecting'|'live'|'reconnecting'),
 * onOpen(), onUnauthorised(error) (the ticket request was refused: stop and ask the worker to sign in).
 */
export function createStream(options) {
  let socket = null;
  let fetchingTicket = false;
  let stopped = false;
  let attempt = 0;
  let retryTimer = null;
  let watchdog = null;
  let lastFrameAt = 0;
  let lastHeartbeatAt = 0;
  let heartbeatMs = ASSUMED_HEARTBEAT_MS;

  const deadAfter = () => Math.min(MAX_DEAD_AFTER_MS, Math.max(MIN_DEAD_AFTER_MS, 2 * heartbeatMs));

  function streamUrl(ticket) {
    const url = new URL('/la/v1/notifications/stream', window.location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket);
    url.searchParams.set('after', String(options.highest()));
    return url;
  }

  async function connect() {
    retryTimer = null;
    if (stopped) return;
    options.onState(attempt === 0 ? 'connecting' : 'reconnecting');
    let ticket;
    fetchingTicket = true;
    try {
      ticket = await options.getTicket();
    } catch (error) {
      fetchingTicket = false;
      if (error?.status === 401 || error?.status === 403) {
        stop();
        return options.onUnauthorised(error);
      }
      return scheduleRetry();
    }
    fetchingTicket = false;
    if (stopped) return;
    const ws = new WebSocket(streamUrl(ticket));
    socket = ws;
    heartbeatMs = ASSUMED_HEARTBEAT_MS;
    lastHeartbeatAt = 0;
    ws.onopen = () => {
      if (socket !== ws) return;
      attempt = 0;
      lastFrameAt = Date.now();
      lastHeartbeatAt = lastFrameAt; // the server's heartbeat timer starts as the socket opens
      options.onState('live');
      options.onOpen();
    };
    ws.onmessage = (event) => {
      if (socket !== ws) return;
      const now = Date.now();
      lastFrameAt = now;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      if (frame?.type === 'heartbeat') {
        if (lastHeartbeatAt) heartbeatMs = Math.min(ASSUMED_HEARTBEAT_MS, Math.max(now - lastHeartbeatAt, 500));
        lastHeartbeatAt = now;
      }
      options.onFrame(frame);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      scheduleRetry();
    };
    ws.onerror = () => {}; // a close event always follows
  }

  /** Drops the current socket at once: its late events are ignored (they no longer match `socket`). */
  function abandon() {
    const ws = socket;
    socket = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(4000, 'client reconnecting');
      } catch {
        // already closing
      }
    }
  }

  function scheduleRetry() {
    if (stopped || retryTimer) return;
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** attempt);
    attempt += 1;
    options.onState('reconnecting');
    retryTimer = setTimeout(connect, base / 2 + Math.random() * (base / 2));
  }

  function checkAlive() {
    if (stopped || !socket || socket.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastFrameAt > deadAfter()) {
      abandon();
      scheduleRetry();
    }
  }

  function stop() {
    stopped = true;
    clearTimeout(retryTimer);
    retryTimer = null;
    clearInterval(watchdog);
    abandon();
  }

  function start() {
    watchdog = setInterval(checkAlive, 500);
    void connect();
  }

  return {
    start,
    stop,
    /** The network is back: skip the rest of the backoff. */
    retryNow() {
      if (stopped || socket || fetchingTicket) return;
      clearTimeout(retryTimer);
      retryTimer = null;
      attempt = 0;
      void connect();
    },
  };
}
