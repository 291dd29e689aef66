// Countersign's service worker: it makes the inbox installable, shows the push notifications
// the server sends (push/messages.py says what they hold), and opens the card a tap is about.
// Everything it shows is plain text: a notification renders no markup.

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

const FALLBACK = { title: "Countersign", body: "A card waits for your decision in Countersign.", url: "/" };

self.addEventListener("push", (event) => {
  let message = FALLBACK;
  try {
    message = { ...FALLBACK, ...event.data.json() };
  } catch (error) {
    // Not ours or not JSON: say only that something waits.
  }
  event.waitUntil(
    self.registration.showNotification(String(message.title), {
      body: String(message.body),
      tag: message.tag || "",
      renotify: Boolean(message.tag),
      icon: "/static/push/icon-192.png",
      badge: "/static/push/icon-192.png",
      actions: Array.isArray(message.actions) ? message.actions : [],
      data: { url: message.url, approve: message.approve || "" },
    }),
  );
});

// Only this site's pages: a notification never opens anywhere else.
function onThisSite(url) {
  const target = new URL(url || "/", self.location.origin);
  return target.origin === self.location.origin ? target.href : new URL("/", self.location.origin).href;
}

// The card in a window of the app: the one already showing it, else an open window taken there,
// else a new one.
async function openCard(url) {
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const showing = windows.find((client) => client.url === url);
  if (showing) {
    return showing.focus().catch(() => showing);
  }
  for (const client of windows) {
    try {
      const moved = await client.navigate(url);
      if (moved) {
        await moved.focus().catch(() => {});
        return moved;
      }
    } catch (error) {
      // A window this worker does not control cannot be navigated: try the next, or open one.
    }
  }
  return self.clients.openWindow(url);
}

// Approve as the logged-in person, with the notification's single-use token; the server applies
// every check the inbox does. Anything but a success opens the card, which says why.
async function approve(data, url) {
  try {
    const answer = await fetch(data.approve, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    const said = await answer.json();
    if (answer.ok) {
      return self.registration.showNotification(String(said.message), { tag: "decided", data: { url } });
    }
  } catch (error) {
    // Offline, or logged out (the answer was a page, not JSON): the card will say.
  }
  return openCard(url);
}

self.addEventListener("notificationclick", (event) => {
  const data = event.notification.data || {};
  const url = onThisSite(data.url);
  event.notification.close();
  if (event.action === "approve" && data.approve) {
    event.waitUntil(approve(data, url));
  } else {
    event.waitUntil(openCard(url)); // a tap, or "Reject…": a rejection needs its reason, on the card
  }
});
