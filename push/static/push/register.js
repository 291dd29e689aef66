// The installable inbox: registers the service worker (push/static/push/sw.js, served at /sw.js)
// on every page, and on the preferences page turns push notifications on or off for this browser.
"use strict";

(function () {
  if (!("serviceWorker" in navigator)) {
    return;
  }
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => console.warn("service worker:", error));

  function keyBytes(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(raw, (ch) => ch.charCodeAt(0));
  }

  function say(text) {
    const status = document.getElementById("push-status");
    if (status) {
      status.textContent = text;
    }
  }

  async function turnOn(form) {
    if (!("PushManager" in window) || !("Notification" in window)) {
      say("This browser cannot receive push notifications. On an iPhone, add Countersign to the Home Screen first.");
      return;
    }
    if ((await Notification.requestPermission()) !== "granted") {
      say("Notifications are blocked for this site in the browser's settings.");
      return;
    }
    const registration = await navigator.serviceWorker.ready;
    const subscription = await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(form.dataset.vapidKey),
    });
    const answer = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": form.elements.csrfmiddlewaretoken.value },
      body: JSON.stringify(subscription.toJSON()),
    });
    if (answer.ok) {
      window.location.reload();
    } else {
      say((await answer.json()).error || "The server refused this browser's subscription.");
    }
  }

  async function turnOffHere() {
    const registration = await navigator.serviceWorker.getRegistration("/");
    const subscription = registration && (await registration.pushManager.getSubscription());
    if (subscription) {
      await subscription.unsubscribe();
    }
  }

  // On the preferences page: name this browser in the list, and offer "Turn on" only where it is off.
  async function markThisBrowser() {
    const form = document.getElementById("push-on");
    const registration = form && (await navigator.serviceWorker.getRegistration("/"));
    const subscription = registration && (await registration.pushManager.getSubscription());
    const item = subscription && [...document.querySelectorAll("li[data-endpoint]")].find(
      (li) => li.dataset.endpoint === subscription.endpoint,
    );
    if (item) {
      item.append(" (this browser)");
      form.hidden = true;
    }
  }
  markThisBrowser().catch(() => {});

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id === "push-on") {
      event.preventDefault();
      turnOn(form).catch((error) => say(`Push notifications could not be turned on: ${error.message}`));
    } else if (form.id === "push-off") {
      event.preventDefault();
      turnOffHere()
        .catch(() => {})
        .finally(() => form.submit());
    }
  });
})();
