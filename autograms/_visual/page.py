"""The static parts of the interactive HTML page: its style sheet and its script.

The script reads the graph from the JSON block ``#autograms-data``, never builds markup from
strings (all text goes through ``textContent``), and loads nothing from anywhere.
"""

STYLE = """
:root { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif;
        color: #1f1f1f; }
* { box-sizing: border-box; }
body { margin: 0; height: 100vh; display: grid; grid-template-rows: auto 1fr; }
header { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: center;
         padding: 8px 12px; border-bottom: 1px solid #d0d0d0; background: #f5f6f8; }
header h1 { font-size: 16px; margin: 0 8px 0 0; }
#tabs { display: flex; flex-wrap: wrap; gap: 4px; }
#tabs button, .tools button { font: inherit; padding: 3px 10px; border: 1px solid #b8b8b8;
        border-radius: 4px; background: #fff; cursor: pointer; }
#tabs button[aria-selected="true"] { background: #2f5597; border-color: #2f5597; color: #fff; }
.tools { display: flex; gap: 4px; align-items: center; }
.tools label { margin-right: 6px; }
main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(320px, 34%); min-height: 0; }
#canvas { overflow: auto; background: #fbfbfb; min-height: 0; }
.view { padding: 12px; }
.view svg { display: block; }
aside { border-left: 1px solid #d0d0d0; overflow: auto; padding: 12px 14px; min-height: 0; }
aside h2 { font-size: 16px; margin: 0 0 4px; word-break: break-word; }
.meta { color: #555; margin: 0 0 8px; }
.tag { display: inline-block; border: 1px solid #c9c9c9; border-radius: 3px; padding: 0 5px;
       margin: 0 4px 4px 0; font-size: 12px; background: #fff; }
.tag.pause { background: #fff2cc; }
.tag.calls { background: #e4dfec; }
pre#code { margin: 0 0 10px; padding: 8px 0; background: #f6f8fa; border: 1px solid #e1e4e8;
           border-radius: 4px; overflow: auto; font: 12.5px/1.45 "DejaVu Sans Mono", monospace; }
pre#code .row { display: block; padding: 0 10px 0 0; white-space: pre; }
pre#code .ln { display: inline-block; min-width: 3.2em; padding-right: 10px; text-align: right;
               color: #8c8c8c; user-select: none; }
aside h3 { font-size: 13px; margin: 12px 0 4px; color: #444; }
ul.links { list-style: none; margin: 0; padding: 0; }
ul.links button { font: inherit; font-size: 13px; text-align: left; width: 100%; margin: 1px 0;
                  padding: 2px 6px; border: 1px solid transparent; border-radius: 3px;
                  background: none; cursor: pointer; }
ul.links button:hover { border-color: #c9c9c9; background: #fff; }
.kind { font-size: 11px; text-transform: uppercase; letter-spacing: .03em; margin-right: 6px; }
.hint, .empty { color: #666; font-size: 13px; }
#problems { margin: 0 0 10px; padding: 6px 10px; background: #fde9e7; border: 1px solid #f2b8b5;
            border-radius: 4px; font-size: 13px; }
#problems ul { margin: 4px 0 0; padding-left: 18px; }
#legend { margin-top: 16px; font-size: 12px; color: #444; }
#legend span { display: inline-block; margin: 0 10px 4px 0; }
#legend i { display: inline-block; width: 18px; height: 0; margin-right: 4px;
            vertical-align: middle; border-top: 3px solid; }
#legend i.box { height: 12px; border: 1px solid #666; }
g.node { cursor: pointer; }
g.node:focus { outline: none; }
g.node:focus > :is(polygon, ellipse, rect, path) { stroke: #e36c09; }
.dim { opacity: .2; }
g.node.on > :is(polygon, ellipse, rect, path) { stroke: #e36c09; stroke-width: 2.5px; }
g.node.sel > :is(polygon, ellipse, rect, path) { stroke: #d00000; stroke-width: 4px; }
g.node.tgt > :is(polygon, ellipse, rect, path) { stroke: #7030a0; stroke-width: 4px; }
g.edge.on > path { stroke-width: 3px; }
g.edge.on > polygon { stroke-width: 2px; }
"""

SCRIPT = r"""
(() => {
  "use strict";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const data = JSON.parse(document.getElementById("autograms-data").textContent);
  const state = { view: 0, selected: null, target: null };
  const byId = (id) => document.getElementById(id);

  function make(tag, className, text) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (text !== undefined) element.textContent = text;
    return element;
  }

  const views = data.views.map((view, v) => {
    const out = new Map(), into = new Map(), elements = new Map();
    view.nodes.forEach((id, i) => {
      out.set(id, []);
      into.set(id, []);
      elements.set(id, byId(`v${v}n${i}`));
    });
    const edges = view.edges.map(([s, t, kind, label], k) => {
      const edge = { source: view.nodes[s], target: view.nodes[t], kind, label,
                     element: byId(`v${v}e${k}`) };
      out.get(edge.source).push(edge);
      into.get(edge.target).push(edge);
      return edge;
    });
    const root = byId(`view-${v}`);
    return { name: view.name, title: view.title, out, into, edges, elements, root,
             svg: root.querySelector("svg") };
  });

  function reach(view, start, forward) {
    const seen = new Set([start]);
    const queue = [start];
    while (queue.length) {
      const id = queue.shift();
      for (const edge of (forward ? view.out : view.into).get(id)) {
        const next = forward ? edge.target : edge.source;
        if (!seen.has(next)) { seen.add(next); queue.push(next); }
      }
    }
    return seen;
  }

  function highlighted(view) {
    const mode = document.querySelector("input[name=mode]:checked").value;
    if (state.target && view.elements.has(state.target)) {
      const back = reach(view, state.target, false);
      return new Set([...reach(view, state.selected, true)].filter((id) => back.has(id)));
    }
    if (mode === "from") return reach(view, state.selected, true);
    if (mode === "to") return reach(view, state.selected, false);
    return new Set([state.selected]);
  }

  function paint() {
    const view = views[state.view];
    for (const element of view.root.querySelectorAll(".on, .dim, .sel, .tgt")) {
      element.classList.remove("on", "dim", "sel", "tgt");
    }
    if (!state.selected || !view.elements.has(state.selected)) return;
    const lit = highlighted(view);
    for (const [id, element] of view.elements) {
      element.classList.add(lit.has(id) ? "on" : "dim");
    }
    for (const edge of view.edges) {
      const on = lit.has(edge.source) && lit.has(edge.target) && lit.size > 1;
      edge.element.classList.add(on ? "on" : "dim");
    }
    view.elements.get(state.selected).classList.add("sel");
    if (state.target && view.elements.has(state.target)) {
      view.elements.get(state.target).classList.add("tgt");
    }
  }

  function linkList(title, edges, forward) {
    const box = document.createDocumentFragment();
    box.append(make("h3", null, title));
    if (!edges.length) { box.append(make("p", "empty", "none")); return box; }
    const list = make("ul", "links");
    for (const edge of edges) {
      const other = forward ? edge.target : edge.source;
      const button = make("button");
      button.type = "button";
      button.append(make("span", "kind", edge.kind));
      const label = edge.label ? `${edge.label.replace(/\n/g, " ")} \u2192 ` : "";
      button.append(document.createTextNode(label + describe(other)));
      button.addEventListener("click", () => select(other));
      const item = make("li");
      item.append(button);
      list.append(item);
    }
    box.append(list);
    return box;
  }

  function describe(id) {
    const node = data.nodes[id];
    const text = node.address ? `${node.address}: ${node.summary}` : node.summary;
    return `${text.length > 70 ? text.slice(0, 67) + "..." : text} (${node.function})`;
  }

  function showDetails() {
    const panel = byId("details");
    panel.replaceChildren();
    if (!state.selected) {
      panel.append(make("p", "hint", "Click a node to see its code."));
      return;
    }
    const node = data.nodes[state.selected];
    panel.append(make("h2", null, node.address || node.summary));
    const where = node.lineno ? `, line ${node.lineno}` : "";
    panel.append(make("p", "meta", `${node.kind} in ${node.function}${where}`));
    const tags = make("p");
    if (node.address) tags.append(make("span", "tag", `ADDRESS=${node.address}`));
    if (node.pause) tags.append(make("span", "tag pause", `pauses: ${node.pause}`));
    for (const callee of node.calls) tags.append(make("span", "tag calls", `calls ${callee}`));
    if (tags.childNodes.length) panel.append(tags);
    const code = make("pre");
    code.id = "code";
    for (const [lineno, text] of node.code) {
      const row = make("span", "row");
      row.append(make("span", "ln", String(lineno)), document.createTextNode(text));
      code.append(row);
    }
    if (!node.code.length) code.append(make("span", "row", ` ${node.summary}`));
    panel.append(code);
    const view = views[state.view];
    if (view.elements.has(state.selected)) {
      panel.append(linkList("Leads to", view.out.get(state.selected), true));
      panel.append(linkList("Reached from", view.into.get(state.selected), false));
    }
    if (state.target) {
      panel.append(make("p", "hint", `Paths to: ${describe(state.target)}`));
    }
  }

  function select(id, target = null) {
    if (!data.nodes[id]) return;
    if (!views[state.view].elements.has(id)) {
      const home = views.findIndex((view) => view.name === data.nodes[id].function);
      if (home >= 0) showView(home);
    }
    state.selected = id;
    state.target = target;
    showDetails();
    paint();
    history.replaceState(null, "", `#node=${encodeURIComponent(id)}`);
  }

  function showView(v) {
    state.view = v;
    views.forEach((view, i) => {
      view.root.hidden = i !== v;
      byId(`tab-${i}`).setAttribute("aria-selected", String(i === v));
    });
    const view = views[v];
    if (view.zoom === undefined) zoom(view, Math.max(0.5, Math.min(1, fitted(view))));
    showDetails();
    paint();
  }

  function viewBoxSize(svg) {
    const box = svg.viewBox.baseVal;
    return box && box.width ? [box.width, box.height] : [svg.getBBox().width, svg.getBBox().height];
  }

  function zoom(view, factor) {
    view.zoom = factor;
    const [w, h] = viewBoxSize(view.svg);
    view.svg.style.width = `${w * factor}px`;
    view.svg.style.height = `${h * factor}px`;
  }

  function fitted(view) {
    const canvas = byId("canvas");
    const [w, h] = viewBoxSize(view.svg);
    return Math.min((canvas.clientWidth - 28) / w, (canvas.clientHeight - 28) / h);
  }

  views.forEach((view, v) => {
    const tab = make("button", null, view.title);
    tab.type = "button";
    tab.id = `tab-${v}`;
    tab.addEventListener("click", () => showView(v));
    byId("tabs").append(tab);
    for (const [id, element] of view.elements) {
      const title = document.createElementNS(SVG_NS, "title");
      title.textContent = describe(id);
      element.prepend(title);
      element.setAttribute("tabindex", "0");
      element.setAttribute("role", "button");
      element.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(id); }
      });
    }
    view.root.addEventListener("click", (event) => {
      const group = event.target.closest("g.node");
      if (!group) return;
      const id = [...view.elements].find(([, element]) => element === group)?.[0];
      if (id === undefined) return;
      if (event.shiftKey && state.selected && state.selected !== id) select(state.selected, id);
      else select(id);
    });
  });

  for (const input of document.querySelectorAll("input[name=mode]")) {
    input.addEventListener("change", () => { state.target = null; showDetails(); paint(); });
  }
  const current = () => views[state.view];
  byId("zoom-in").addEventListener("click", () => zoom(current(), current().zoom * 1.25));
  byId("zoom-out").addEventListener("click", () => zoom(current(), current().zoom / 1.25));
  byId("zoom-fit").addEventListener("click", () => zoom(current(), fitted(current())));
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      state.selected = null;
      state.target = null;
      showDetails();
      paint();
    }
  });

  function fromHash() {
    const match = /^#node=(.+)$/.exec(location.hash);
    if (match) select(decodeURIComponent(match[1]));
  }
  window.addEventListener("hashchange", fromHash);
  showView(0);
  fromHash();
  document.body.dataset.ready = "true";
})();
"""
