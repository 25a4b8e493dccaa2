// bodytap viewer: live updates, pause, keyboard navigation, JSON folding,
// copy as curl and lazy loading of large bodies. The pages work without
// it; it only adds to them.
//
// Safety: captured data reaches this script only as strings (JSON from
// the live stream, text from the body endpoints) and only ever goes into
// text nodes (textContent) or attribute values that are checked first.
// The page's CSP enforces Trusted Types, so that handing a string to an
// HTML sink would throw. The one exception is the detail pane of the
// list, which shows an exchange's page as the server rendered it: the
// browser parses that response itself (XMLHttpRequest's "document"
// type, no string ever becomes markup here), exactly the markup that
// opening /x/ID would show, and its nodes are moved into the pane.
"use strict";

(function () {
  const ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
  const ROW_CLASSES = /^s[0-5]$/;
  const FLAGS = new Set(["x-error", "x-truncated", "x-redacted", "x-hijacked"]);
  const MAX_ROWS = 1000; // rows kept on the live page
  const MAX_BUFFER = 1000; // rows held while paused

  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("rows")) {
      initList();
    }
    if (document.getElementById("detail")) {
      initDetail();
    }
  });

  // ---- list ----

  function initList() {
    const rows = document.getElementById("rows");
    const filter = document.getElementById("filter");
    try {
      sessionStorage.setItem("bodytap.list", location.pathname + location.search);
    } catch (e) {
      // storage may be disabled
    }

    document.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey) {
        return;
      }
      const t = ev.target;
      if (t === filter) {
        if (ev.key === "Escape") {
          filter.blur();
        } else if (ev.key === "ArrowDown") {
          ev.preventDefault();
          focusRow(rows.firstElementChild);
        }
        return;
      }
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) {
        return;
      }
      const cur = t && t.parentElement === rows ? t : pane.selected();
      switch (ev.key) {
        case "ArrowDown":
        case "j":
          ev.preventDefault();
          moveTo(cur ? cur.nextElementSibling : rows.firstElementChild);
          break;
        case "ArrowUp":
        case "k":
          ev.preventDefault();
          if (cur && !cur.previousElementSibling && filter) {
            filter.focus();
          } else {
            moveTo(cur ? cur.previousElementSibling : rows.lastElementChild);
          }
          break;
        case "Escape":
          if (pane.selected()) {
            pane.close();
          }
          break;
        case "Home":
          if (cur) {
            ev.preventDefault();
            moveTo(rows.firstElementChild);
          }
          break;
        case "End":
          if (cur) {
            ev.preventDefault();
            moveTo(rows.lastElementChild);
          }
          break;
        case "o":
          if (cur) {
            cur.click();
          }
          break;
        case "/":
          if (filter) {
            ev.preventDefault();
            filter.focus();
            filter.select();
          }
          break;
        case " ":
          if (t === document.body && document.getElementById("live").hidden === false) {
            ev.preventDefault();
            togglePause();
          }
          break;
      }
    });

    // The examples of the filter reference fill the box; their links
    // work without script too.
    for (const a of document.querySelectorAll("#help a.example")) {
      a.addEventListener("click", function (ev) {
        if (!filter) {
          return;
        }
        ev.preventDefault();
        filter.value = a.dataset.example || "";
        filter.focus();
      });
    }

    const pane = initPane(rows);
    // moveTo focuses a row and, beside the list, shows its exchange.
    const moveTo = function (el) {
      if (focusRow(el) && pane.active()) {
        pane.select(el, true);
      }
    };

    const url = rows.dataset.stream;
    if (url && window.EventSource) {
      live(rows, url);
    }
  }

  function focusRow(el) {
    if (el && el.classList.contains("row")) {
      el.focus();
      el.scrollIntoView({ block: "nearest" });
      return true;
    }
    return false;
  }

  // ---- detail pane ----

  // Wide windows show the selected exchange beside the list, as browser
  // devtools do. The rows stay links to /x/ID (a new tab, a middle click
  // or a narrow window opens the page alone); the list's address keeps
  // the selection in its fragment, so that a reload shows it again.
  const WIDE = "(min-width: 1400px)";

  function initPane(rows) {
    const wide = window.matchMedia ? window.matchMedia(WIDE) : { matches: false };
    let box = null;
    let req = null;
    let timer = null;
    let sel = null; // the row shown, or null
    let shown = ""; // the ID shown

    const active = function () {
      return wide.matches;
    };
    const selected = function () {
      return sel && sel.parentElement === rows ? sel : null;
    };
    const ensureBox = function () {
      if (!box) {
        box = document.createElement("aside");
        box.className = "pane";
        box.id = "pane";
        box.setAttribute("aria-label", "Selected exchange");
        box.setAttribute("aria-live", "polite");
        document.body.appendChild(box);
      }
      const bar = document.querySelector("body > .bar");
      if (bar) {
        document.body.style.setProperty("--bar-h", bar.getBoundingClientRect().height + "px");
      }
      document.body.classList.add("split");
      return box;
    };
    const message = function (text) {
      const p = document.createElement("p");
      p.className = "absent";
      p.textContent = text;
      ensureBox().replaceChildren(p);
    };
    // load fetches the page of exchange id and moves its content into
    // the pane.
    const load = function (id) {
      if (req) {
        req.abort();
      }
      const x = new XMLHttpRequest();
      req = x;
      x.open("GET", "/x/" + id);
      x.responseType = "document";
      x.addEventListener("load", function () {
        if (req !== x) {
          return;
        }
        req = null;
        const doc = x.response;
        const main = doc && x.status === 200 ? doc.getElementById("detail") : null;
        if (!main || main.dataset.id !== id) {
          const h = doc && doc.querySelector("main h1");
          const p = doc && doc.querySelector("main p");
          message(h && p ? h.textContent + ": " + p.textContent : "Could not load the exchange: " + x.status + " " + x.statusText);
          return;
        }
        show(doc, main, id);
      });
      x.addEventListener("error", function () {
        if (req === x) {
          req = null;
          message("Could not load the exchange: the viewer did not answer.");
        }
      });
      x.send();
    };
    const show = function (doc, main, id) {
      const head = document.createElement("div");
      head.className = "pane-bar";
      for (const q of [".reqline", "#status", "#find"]) {
        const el = doc.querySelector("header " + q);
        if (el) {
          head.appendChild(document.adoptNode(el));
        }
      }
      const open = document.createElement("a");
      open.className = "btn small";
      open.href = "/x/" + id; // id is checked against the ULID alphabet
      open.textContent = "Open";
      open.title = "This exchange on a page of its own";
      const close = document.createElement("button");
      close.type = "button";
      close.className = "small";
      close.textContent = "×";
      close.title = "Close (Escape)";
      close.setAttribute("aria-label", "Close the pane");
      close.addEventListener("click", closePane);
      head.append(open, close);
      const detail = document.createElement("div");
      detail.className = "detail";
      detail.id = "detail";
      detail.dataset.id = id;
      while (main.firstChild) {
        detail.appendChild(document.adoptNode(main.firstChild));
      }
      const b = ensureBox();
      b.replaceChildren(head, detail);
      b.scrollTop = 0;
      shown = id;
      bindDetail(b);
      initFind(b);
    };
    const select = function (row, soon) {
      const id = row && row.dataset.id;
      if (!id || !ID.test(id)) {
        return;
      }
      if (sel) {
        sel.classList.remove("sel");
        sel.removeAttribute("aria-current");
      }
      sel = row;
      row.classList.add("sel");
      row.setAttribute("aria-current", "true");
      history.replaceState(history.state, "", location.pathname + location.search + "#" + id);
      if (id === shown && !req) {
        return;
      }
      clearTimeout(timer);
      // Holding a key down goes through rows quickly: load the one it
      // stops on.
      timer = setTimeout(function () {
        load(id);
      }, soon ? 60 : 0);
    };
    const closePane = function () {
      if (req) {
        req.abort();
        req = null;
      }
      clearTimeout(timer);
      if (sel) {
        sel.classList.remove("sel");
        sel.removeAttribute("aria-current");
        sel.focus();
      }
      sel = null;
      shown = "";
      if (box) {
        box.remove();
        box = null;
      }
      document.body.classList.remove("split");
      history.replaceState(history.state, "", location.pathname + location.search);
    };

    rows.addEventListener("click", function (ev) {
      const row = ev.target.closest("a.row");
      if (!row || !active() || ev.button !== 0 || ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey) {
        return;
      }
      ev.preventDefault();
      row.focus();
      select(row, false);
    });

    // The selection in the address: show it again.
    const id = location.hash.slice(1);
    if (ID.test(id) && active()) {
      const row = rows.querySelector('a.row[data-id="' + id + '"]');
      if (row) {
        select(row, false);
        row.scrollIntoView({ block: "nearest" });
      } else {
        ensureBox();
        load(id);
      }
    }
    return { active: active, select: select, selected: selected, close: closePane };
  }

  let paused = false;
  let buffer = [];
  let setLive = null;

  function togglePause() {
    paused = !paused;
    const btn = document.getElementById("pause");
    btn.setAttribute("aria-pressed", String(paused));
    btn.textContent = paused ? "Resume" : "Pause";
    if (!paused) {
      const rows = document.getElementById("rows");
      for (const r of buffer) {
        prepend(rows, r);
      }
      buffer = [];
    }
    setLive();
  }

  function live(rows, url) {
    const box = document.getElementById("live");
    const text = document.getElementById("live-text");
    const pause = document.getElementById("pause");
    box.hidden = false;
    let state = "connecting";
    setLive = function () {
      box.dataset.state = paused ? "paused" : state;
      if (paused) {
        text.textContent = buffer.length ? "paused · " + buffer.length + " new" : "paused";
      } else {
        text.textContent = state === "open" ? "live" : state;
      }
    };
    pause.addEventListener("click", togglePause);
    setLive();

    const es = new EventSource(url);
    es.addEventListener("open", function () {
      state = "open";
      setLive();
    });
    es.addEventListener("error", function () {
      state = es.readyState === EventSource.CLOSED ? "offline" : "reconnecting";
      setLive();
    });
    es.addEventListener("x", function (ev) {
      let r;
      try {
        r = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (!r || typeof r.id !== "string" || !ID.test(r.id) || document.querySelector('#rows > [data-id="' + r.id + '"]')) {
        return;
      }
      if (paused) {
        if (buffer.length < MAX_BUFFER) {
          buffer.push(r);
        }
        setLive();
        return;
      }
      prepend(rows, r);
    });
    window.addEventListener("pagehide", function () {
      es.close();
    });
  }

  // prepend adds a row for r at the top of the list, built from text
  // nodes only.
  function prepend(rows, r) {
    const a = document.createElement("a");
    a.className = "row new";
    if (typeof r.class === "string" && ROW_CLASSES.test(r.class)) {
      a.classList.add(r.class);
    }
    for (const f of String(r.flags || "").split(" ")) {
      if (FLAGS.has(f)) {
        a.classList.add(f);
      }
    }
    a.href = "/x/" + r.id; // r.id is checked against the ULID alphabet
    a.dataset.id = r.id;
    a.title = str(r.title);
    const cell = function (cls, value, title) {
      const s = document.createElement("span");
      s.className = cls;
      s.textContent = str(value);
      if (title) {
        s.title = str(title);
      }
      a.appendChild(s);
      return s;
    };
    cell("c-time", r.time, r.timeTitle);
    cell("c-method", r.method);
    const u = cell("c-url", "");
    const host = document.createElement("span");
    host.className = "host";
    host.textContent = str(r.host);
    const path = document.createElement("span");
    path.className = "path";
    path.textContent = str(r.path);
    u.append(host, path);
    cell("c-status", r.status);
    cell("c-dur", r.dur);
    cell("c-req", r.req);
    cell("c-resp", r.resp);
    cell("c-type", r.type);
    rows.insertBefore(a, rows.firstChild);
    countRow();
    const empty = document.getElementById("empty");
    if (empty) {
      empty.remove();
    }
    setTimeout(function () {
      a.classList.remove("new");
    }, 2000);
    // Keep the page bounded; the "older" link goes on from the last row.
    if (rows.children.length > MAX_ROWS) {
      while (rows.children.length > MAX_ROWS) {
        rows.lastElementChild.remove();
      }
      const older = document.getElementById("older");
      const last = rows.lastElementChild;
      if (older && last && ID.test(last.dataset.id)) {
        const u = new URL(older.href, location.href);
        u.searchParams.set("before", last.dataset.id);
        older.href = u.pathname + u.search;
      }
    }
  }

  // countRow adds a live row to the count above the list, when the page
  // has one, in the words the server used.
  function countRow() {
    const total = document.getElementById("total");
    if (!total || !/^[0-9]+$/.test(total.dataset.count || "")) {
      return;
    }
    const n = Number(total.dataset.count) + 1;
    total.dataset.count = String(n);
    let text = n.toLocaleString("en-US") + (n === 1 ? " exchange" : " exchanges");
    if (total.dataset.match === "1") {
      text += n === 1 ? " matches" : " match";
    }
    total.textContent = text;
  }

  function str(v) {
    return typeof v === "string" ? v : v == null ? "" : String(v);
  }

  // ---- detail ----

  function initDetail() {
    const back = document.getElementById("back");
    try {
      const list = sessionStorage.getItem("bodytap.list");
      if (back && list && list.charAt(0) === "/" && list.charAt(1) !== "/" && list.charAt(1) !== "\\") {
        back.href = list;
      }
    } catch (e) {
      // storage may be disabled
    }
    document.addEventListener("keydown", function (ev) {
      if (ev.altKey || ev.ctrlKey || ev.metaKey) {
        return;
      }
      const t = ev.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA")) {
        return;
      }
      if (ev.key === "/" && document.getElementById("find-q")) {
        ev.preventDefault();
        document.getElementById("find-q").focus();
        return;
      }
      if ((ev.key === "Escape" || ev.key === "u" || ev.key === "Backspace") && back) {
        ev.preventDefault();
        back.click();
      }
    });

    initFind(document);
    bindDetail(document);
  }

  // bindDetail makes the buttons and links of an exchange's page in root
  // work.
  function bindDetail(root) {
    for (const btn of root.querySelectorAll("[data-copy]")) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        copy(btn, document.getElementById(btn.dataset.copy));
      });
    }
    for (const btn of root.querySelectorAll("[data-fold]")) {
      btn.hidden = false;
      btn.addEventListener("click", function () {
        const open = btn.dataset.fold === "1";
        for (const d of btn.closest(".body").querySelectorAll("details.j")) {
          d.open = open;
        }
      });
    }
    for (const a of root.querySelectorAll("a[data-load]")) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        const pre = document.getElementById(a.dataset.load);
        a.textContent = "Loading…";
        fetchText(a.getAttribute("href"))
          .then(function (res) {
            pre.textContent = res.text;
            pre.hidden = false;
            a.remove();
          })
          .catch(function (err) {
            a.textContent = "Could not load: " + err.message;
          });
      });
    }
    for (const a of root.querySelectorAll("a[data-append]")) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault();
        const pre = document.getElementById(a.dataset.append);
        fetchText(a.getAttribute("href"))
          .then(function (res) {
            pre.appendChild(document.createTextNode(res.text));
            const next = res.next;
            if (next && next.charAt(0) === "/" && next.charAt(1) !== "/") {
              a.setAttribute("href", next);
            } else {
              a.remove();
            }
          })
          .catch(function (err) {
            a.textContent = "Could not load: " + err.message;
          });
      });
    }
  }

  // ---- find in bodies ----

  const MAX_FOUND = 2000; // marks made at most, to keep the page light

  // initFind searches the bodies shown in root for a text, ignoring
  // case, and marks each match by splitting text nodes: the captured text
  // never passes through markup. Enter and Shift+Enter, or the buttons,
  // move between the matches; folded JSON opens to show one.
  function initFind(root) {
    const box = document.getElementById("find");
    const q = document.getElementById("find-q");
    const count = document.getElementById("find-count");
    if (!box || !q) {
      return;
    }
    box.hidden = false;
    let found = [];
    let cur = -1;

    const clear = function () {
      for (const m of found) {
        const parent = m.parentNode;
        if (parent) {
          parent.replaceChild(document.createTextNode(m.textContent), m);
          parent.normalize();
        }
      }
      found = [];
      cur = -1;
    };
    const search = function () {
      clear();
      const needle = q.value.toLowerCase();
      if (needle === "") {
        count.textContent = "";
        return;
      }
      for (const body of root.querySelectorAll(".body pre, .body .json")) {
        const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
        const nodes = [];
        for (let n = walker.nextNode(); n; n = walker.nextNode()) {
          nodes.push(n);
        }
        for (let node of nodes) {
          let i = node.data.toLowerCase().indexOf(needle);
          while (i >= 0 && found.length < MAX_FOUND) {
            const match = node.splitText(i);
            const rest = match.splitText(needle.length);
            const mark = document.createElement("mark");
            mark.className = "found";
            mark.textContent = match.data;
            match.parentNode.replaceChild(mark, match);
            found.push(mark);
            node = rest;
            i = node.data.toLowerCase().indexOf(needle);
          }
        }
      }
      go(0);
    };
    const go = function (i) {
      if (found.length === 0) {
        count.textContent = q.value === "" ? "" : "no matches";
        return;
      }
      if (cur >= 0) {
        found[cur].classList.remove("cur");
      }
      cur = (i + found.length) % found.length;
      const m = found[cur];
      m.classList.add("cur");
      for (let d = m.closest("details"); d; d = d.parentElement.closest("details")) {
        d.open = true;
      }
      m.scrollIntoView({ block: "center" });
      count.textContent = cur + 1 + " of " + found.length + (found.length === MAX_FOUND ? "+" : "");
    };

    let timer = null;
    q.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 150);
    });
    q.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter") {
        ev.preventDefault();
        clearTimeout(timer);
        if (found.length === 0) {
          search();
        } else {
          go(cur + (ev.shiftKey ? -1 : 1));
        }
      } else if (ev.key === "Escape") {
        q.value = "";
        search();
        q.blur();
      }
    });
    document.getElementById("find-next").addEventListener("click", function () {
      go(cur + 1);
    });
    document.getElementById("find-prev").addEventListener("click", function () {
      go(cur - 1);
    });
  }

  function fetchText(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/plain" } }).then(function (resp) {
      if (!resp.ok) {
        throw new Error(resp.status + " " + resp.statusText);
      }
      const next = resp.headers.get("X-Next");
      return resp.text().then(function (text) {
        return { text: text, next: next };
      });
    });
  }

  function copy(btn, el) {
    if (!el) {
      return;
    }
    const text = el.textContent;
    const done = function (ok) {
      const label = btn.textContent;
      btn.textContent = ok ? "Copied" : "Select and copy the command below";
      setTimeout(function () {
        btn.textContent = label;
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          done(true);
        },
        function () {
          done(fallbackCopy(el));
        }
      );
    } else {
      done(fallbackCopy(el));
    }
  }

  // fallbackCopy selects the element's text and copies it the old way,
  // for pages served over plain HTTP to another machine.
  function fallbackCopy(el) {
    const details = el.closest("details");
    if (details) {
      details.open = true;
    }
    const sel = window.getSelection();
    sel.selectAllChildren(el);
    try {
      return document.execCommand("copy");
    } catch (e) {
      return false;
    }
  }
})();
