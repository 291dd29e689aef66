// The inbox's keyboard, live title, SLA countdowns and batch selection. No inline script:
// the Content-Security-Policy allows only files from this origin.
(function () {
  "use strict";

  function cards() { return Array.prototype.slice.call(document.querySelectorAll("article.card")); }
  function current() { return document.activeElement && document.activeElement.closest ? document.activeElement.closest("article.card") : null; }

  function move(step) {
    var all = cards();
    if (!all.length) return;
    var index = all.indexOf(current());
    land(all[Math.max(0, Math.min(all.length - 1, index < 0 ? 0 : index + step))]);
  }

  function land(card) {
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest" });
  }

  // A card with nothing left to decide: an action decided, a question answered, an appeal resolved.
  function decided(card) {
    return !card.querySelector(".decide, form.edit");
  }

  // The next card still waiting after `card` (else the one before it), for the keyboard to go on to.
  function following(card) {
    var waiting = cards().filter(function (other) { return other === card || !decided(other); });
    var index = waiting.indexOf(card);
    return waiting[index + 1] || waiting[index - 1] || null;
  }

  // The card last decided stays on the page across the queue's refreshes (which no longer list
  // it) until another is decided: its outcome and "Allow similar…" must not vanish under the
  // reviewer's eyes.
  var kept = null;
  function keep(card) {
    if (kept && kept !== card && kept.id !== card.id && kept.parentNode) kept.parentNode.removeChild(kept);
    kept = card;
    card.setAttribute("data-decided", "");
  }

  // htmx wires swapped-in content as it settles (it carries "htmx-added" until then): a button
  // clicked before that would post the plain form and reload the page, losing the reviewer's
  // place. A key that arrives in between is kept and pressed once the card has settled.
  var waiting = null;
  function unsettled(card) { return card.closest(".htmx-added") || card.querySelector(".htmx-added"); }
  function press(card, selector) {
    var target = card && card.querySelector(selector);
    if (target && unsettled(card)) waiting = { id: card.id, selector: selector };
    else if (target) target.click();
    return target;
  }
  document.addEventListener("htmx:afterSettle", function () {
    var card = waiting && document.getElementById(waiting.id);
    if (!card || unsettled(card)) return;
    var target = card.querySelector(waiting.selector);
    waiting = null;
    if (target) target.click();
  });

  // Text entry only: a focused checkbox or button still takes the shortcuts.
  function typing(element) {
    if (!element) return false;
    if (element.tagName === "INPUT") return !/^(checkbox|radio|button|submit|reset)$/.test(element.type);
    return element.isContentEditable || /^(TEXTAREA|SELECT)$/.test(element.tagName);
  }

  document.addEventListener("keydown", function (event) {
    // Escape leaves an edit without deciding: the Cancel link reloads the inbox at this card.
    if (event.key === "Escape" && event.target.closest && event.target.closest("article.card[data-editing]")) {
      event.target.closest("article.card").querySelector(".edit a").click();
      return;
    }
    // Escape closes the reject panel without rejecting; the keyboard goes back to its card.
    var panel = event.key === "Escape" && event.target.closest && event.target.closest("details.reject[open]");
    if (panel) {
      panel.open = false;
      panel.closest("article.card").focus({ preventScroll: true });
      event.preventDefault();
      return;
    }
    // Ctrl+Enter in an edit approves the changes (Enter alone only checks them), as the button does.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.closest && event.target.closest("form.edit")) {
      if (!event.repeat) press(event.target.closest("article.card"), "button[data-approve-edit]");
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var card = current();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      // A held key repeats: never let that confirm an irreversible approval on its own.
      case "a": if (event.repeat || !press(card, "button[data-confirm], button[data-key=a]")) return; break;
      case "e": if (!press(card, "[data-key=e]")) return; break;
      case "r": {
        // Into the free-text reason: a focused <select> would take the typed words as picks by
        // their first letter. Enter there rejects with what was typed.
        var details = card && card.querySelector("details.reject");
        if (!details) return;
        details.open = true;
        details.querySelector("input[name=reason]").focus();
        break;
      }
      case "x": {
        var box = card && card.querySelector("input.select");
        if (!box) return;
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
        break;
      }
      case "?": document.getElementById("keys").showModal(); break;
      default: return;
    }
    event.preventDefault();
  });

  // After htmx swaps a card, keep the keyboard on it (the old element left the page). htmx 2
  // puts the focus back on the element with the old one's id, here the card itself: an edit just
  // opened still takes it into its first field, and an approval to confirm onto its button. Once
  // settled, not at the swap: htmx wires the new card's buttons when it settles, and a key pressed
  // on a button not wired yet would post the plain form.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target || !target.matches("article.card")) return;
    var card = document.getElementById(target.id);
    if (!card) return;
    var active = document.activeElement;
    var lost = active === document.body || !document.contains(active);
    if (!lost && !card.contains(active)) return;
    if (decided(card)) {
      // Decided (or answered, or resolved): the keyboard goes on to the next card, and this one
      // stays where it is, with its "Allow similar…", until the reviewer decides another.
      keep(card);
      var next = following(card);
      if (next) land(next);
      else card.focus({ preventScroll: true });
      return;
    }
    var confirm = card.querySelector("button[data-confirm]");
    var field = card.querySelector(".edit input:not([type=hidden]), .edit textarea, .edit select");
    if (confirm) confirm.focus();
    else if (lost) (field || card).focus();
    else if (active === card && field) {
      field.focus();
      if (field.tagName === "INPUT" && field.select) field.select();  // typing replaces the value
    }
  });

  // The poll re-renders the queue; never while someone types or edits, and keep the selection.
  // An update that arrives meanwhile is deferred, not dropped: it is asked for once the edit,
  // the reason or the answer is finished (the stream says "changed" once, and only once).
  var selected = [];
  var deferred = false;
  function busy() {
    return document.querySelector("article.card[data-editing]") || typing(document.activeElement) ||
      document.querySelector("details.reject[open]") || deciding();
  }
  // A card's own request in flight (a decision, an edit): a queue re-rendered under it would
  // leave its answer to land on a card no longer on the page.
  function deciding() {
    return document.querySelector("#queue article.card.htmx-request, #queue article.card .htmx-request");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!event.detail.elt.classList.contains("poll")) return;
    if (busy()) {
      deferred = true;
      event.preventDefault();
    }
  });
  function catchUp() {
    // After the event that ended the edit has moved the focus.
    setTimeout(function () {
      var poll = document.querySelector("#queue > .poll");
      if (!deferred || busy() || !poll) return;
      deferred = false;
      htmx.trigger(poll, "catch-up");
    }, 0);
  }
  document.addEventListener("focusout", catchUp);
  document.addEventListener("toggle", catchUp, true);
  document.addEventListener("htmx:afterSettle", catchUp);
  // Pushed updates: while the inbox's stream is open, its "changed" events ask for the queue
  // and the 5 s timer's requests are skipped; when the stream is down, the timer asks.
  var live = false;
  document.addEventListener("htmx:sseOpen", function () { live = true; document.body.setAttribute("data-live", ""); });
  document.addEventListener("htmx:sseError", function () { live = false; document.body.removeAttribute("data-live"); });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var timer = !(event.detail.requestConfig && event.detail.requestConfig.triggeringEvent);
    if (live && timer && elt.classList && elt.classList.contains("poll")) event.preventDefault();
  });

  // Where the keyboard was before the queue is re-rendered: the focused card, else the cards
  // after it (it may have left the queue), so that focus and scroll stay in the reviewer's place.
  var place = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "queue" && busy()) {
      // Asked for before the edit, the typing or the decision began: ask again once it ends.
      event.detail.shouldSwap = false;
      deferred = true;
      return;
    }
    if (event.detail.target && event.detail.target.id === "queue") {
      selected = Array.prototype.map.call(document.querySelectorAll("input.select:checked"), function (box) { return box.value; });
      var all = cards();
      var at = all.indexOf(current());
      place = at < 0 ? null : all.slice(at).concat(all.slice(0, at).reverse()).map(function (card) { return card.id; });
      if (kept && !document.contains(kept)) kept = null;
      if (kept) {
        var after = all.slice(all.indexOf(kept) + 1).map(function (card) { return card.id; });
        kept.__after = after;
      }
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "queue") return;
    var queue = document.getElementById("queue");
    if (kept && queue && !document.getElementById(kept.id)) {
      var before = null;
      (kept.__after || []).some(function (id) { return (before = document.getElementById(id)); });
      if (before) before.parentNode.insertBefore(kept, before);
      else {
        var last = queue.querySelectorAll("section.group");
        if (last.length) last[last.length - 1].appendChild(kept);
        else queue.appendChild(kept);
      }
    }
  });
  // The focus comes back once the new cards have settled: htmx wires their buttons then, and a
  // key pressed on a button not wired yet would post the plain form and reload the page.
  document.addEventListener("htmx:afterSettle", function () {
    if (!place || !document.getElementById("queue")) return;
    var found = null;
    place.some(function (id) {
      var card = document.getElementById(id);
      found = card && (card === kept || !decided(card)) ? card : null;
      return found;
    });
    place = null;
    if (found === kept && kept) found = following(kept) || kept;
    var active = document.activeElement;
    if (found && (active === document.body || !document.contains(active))) found.focus({ preventScroll: true });
  });

  function refresh() {
    var queue = document.getElementById("queue");
    if (queue) {
      var pending = queue.getAttribute("data-pending");
      document.title = (pending === "0" ? "Inbox" : "Inbox (" + pending + ")") + " · Countersign";
    }
    selected.forEach(function (id) {
      var box = document.querySelector("input.select[value='" + id + "']");
      if (box) box.checked = true;
    });
    selected = [];
    countSelected();
    tick();
  }

  function countSelected() {
    var button = document.getElementById("batch-approve");
    var reject = document.getElementById("batch-reject");
    if (!button) return;
    var count = document.querySelectorAll("input.select:checked").length;
    // On a phone the bar folds away while nothing is selected (countersign.css).
    if (button.form) button.form.classList.toggle("idle", count === 0);
    button.textContent = count ? "Approve " + count + "…" : "Approve selected…";
    button.disabled = count === 0;
    if (reject) {
      reject.textContent = count ? "Reject " + count + "…" : "Reject selected…";
      reject.disabled = count === 0;
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("input[data-group]") && target.closest(".group-head")) {
      target.closest("section.group").querySelectorAll("input.select").forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("input.select, input[data-group]")) countSelected();
  });

  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown").forEach(function (time) {
      var minutes = Math.round((Date.parse(time.getAttribute("datetime")) - now) / 60000);
      var span = Math.abs(minutes) >= 120 ? Math.round(Math.abs(minutes) / 60) + " h" : Math.abs(minutes) + " min";
      time.textContent = minutes >= 0 ? "due in " + span : "overdue by " + span;
      time.classList.toggle("soon", minutes < 5);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("show-keys");
    if (button) button.addEventListener("click", function () { document.getElementById("keys").showModal(); });
    // The keyboard starts on a card (after a batch, the first still waiting): `a` works at once.
    var linked = location.hash && document.getElementById(location.hash.slice(1));
    var first = cards().filter(function (card) { return !decided(card); })[0];
    if (!linked && first && document.activeElement === document.body) first.focus({ preventScroll: true });
    refresh();
    setInterval(tick, 15000);
  });
  document.addEventListener("htmx:afterSettle", refresh);
})();
