// The YAML editor: parses as you type (YAML syntax errors at their line), then asks
// the API's own validate endpoint and puts each problem's JSON pointer at its line.
"use strict";

(() => {
  const box = document.getElementById("editor");
  const text = document.getElementById("yaml");
  const gutter = document.getElementById("gutter");
  const status = document.getElementById("status");
  const list = document.getElementById("problems");
  const save = document.getElementById("save");
  const collection = box.dataset.collection;
  const kind = box.dataset.kind;
  let latest = 0;   // only the newest check may update the page
  let timer = null;
  let valid = null; // the document last found valid

  function lineAt(offset) {
    return text.value.slice(0, offset).split("\n").length;
  }

  /** The source offset a JSON pointer names; the deepest node that exists on the way. */
  function offsetOf(doc, pointer) {
    let node = doc.contents;
    let offset = node && node.range ? node.range[0] : 0;
    for (const raw of pointer.split("/").slice(1)) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      let next = null;
      let keyNode = null;
      if (YAML.isMap(node)) {
        const pair = node.items.find((p) => String(YAML.isScalar(p.key) ? p.key.value : p.key) === key);
        if (pair) { next = pair.value; keyNode = pair.key; }
      } else if (YAML.isSeq(node)) {
        next = node.items[Number(key)];
      }
      const found = (next && next.range) ? next : keyNode;
      if (!found || !found.range) break;
      offset = found.range[0];
      node = next;
      if (!node) break;
    }
    return offset;
  }

  function drawGutter(bad) {
    const count = text.value.split("\n").length;
    gutter.replaceChildren();
    for (let n = 1; n <= count; n++) {
      const span = document.createElement("span");
      span.textContent = String(n);
      span.dataset.line = String(n);
      if (bad.has(n)) { span.className = "bad"; span.title = bad.get(n); }
      gutter.append(span, "\n");
    }
    gutter.scrollTop = text.scrollTop;
  }

  function show(problems, message) {
    const bad = new Map();
    list.replaceChildren();
    for (const p of problems) {
      bad.set(p.line, (bad.has(p.line) ? bad.get(p.line) + "\n" : "") + p.message);
      const item = document.createElement("li");
      item.dataset.line = String(p.line);
      const where = document.createElement("code");
      where.textContent = p.pointer || "";
      item.append(`line ${p.line}: `, where, p.pointer ? " " : "", p.message);
      item.addEventListener("click", () => jumpTo(p.line));
      list.append(item);
    }
    status.textContent = message;
    status.className = "status " + (problems.length ? "bad" : "good");
    drawGutter(bad);
  }

  function jumpTo(line) {
    const lines = text.value.split("\n");
    const start = lines.slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
    text.focus();
    text.setSelectionRange(start, start + lines[line - 1].length);
  }

  async function check() {
    const mine = ++latest;
    valid = null;
    save.disabled = true;
    const doc = YAML.parseDocument(text.value);
    if (doc.errors.length) {
      show(doc.errors.map((e) => ({ line: e.linePos ? e.linePos[0].line : 1, pointer: "",
                                    message: e.message.split("\n")[0] })), "YAML syntax error");
      return;
    }
    const body = doc.toJS();
    status.textContent = "checking…";
    const res = await VP.api("POST", `/api/v1/${collection}/validate`, body);
    if (mine !== latest) return;
    if (res.ok) {
      valid = body;
      save.disabled = false;
      show([], `valid ${kind}`);
    } else {
      const problems = ((res.data && res.data.problems) || []).map((p) => ({
        line: lineAt(offsetOf(doc, p.pointer)), pointer: p.pointer, message: p.message }));
      const message = (res.data && res.data.message) || `HTTP ${res.status}`;
      show(problems.length ? problems : [{ line: 1, pointer: "", message }], message);
    }
  }

  async function store() {
    if (!valid || typeof valid.name !== "string") return;
    const res = await VP.api("PUT", `/api/v1/${collection}/${encodeURIComponent(valid.name)}`, valid);
    if (!res.ok) {
      status.textContent = "";
      list.replaceChildren(VP.errorNode(res.data));
      return;
    }
    window.location.assign(`/specs/${kind}/${encodeURIComponent(res.data.name)}?saved=${res.data.version}`);
  }

  text.addEventListener("input", () => {
    clearTimeout(timer);
    drawGutter(new Map());
    timer = setTimeout(check, 300);
  });
  text.addEventListener("scroll", () => { gutter.scrollTop = text.scrollTop; });
  text.addEventListener("keydown", (e) => {  // Tab indents instead of leaving the editor
    if (e.key !== "Tab") return;
    e.preventDefault();
    text.setRangeText("  ", text.selectionStart, text.selectionEnd, "end");
    text.dispatchEvent(new Event("input"));
  });
  save.addEventListener("click", store);
  check().then(VP.ready);
})();
