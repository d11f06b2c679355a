// crossmon view: the page (Preact + htm, vega-embed for the charts), routed by the URL's hash. Every string shown
// comes from a run, much of it written by monitored agents: it is rendered as text, never as HTML.
import { h, render } from "/vendor/preact.mjs";
import { useEffect, useRef, useState } from "/vendor/hooks.mjs";
import htm from "/vendor/htm.mjs";

const html = htm.bind(h);

async function getJson(url) {
  const r = await fetch(url);
  const body = await r.json();
  if (!r.ok) throw new Error(body.error ?? `${r.status}`);
  return body;
}

function useJson(url, pollMs) {
  const [state, setState] = useState({ data: null, error: null });
  useEffect(() => {
    let stop = false;
    let timer = null;
    const load = () =>
      getJson(url)
        .then((data) => {
          if (stop) return;
          setState({ data, error: null });
          // a run in progress: ask again until it is complete
          if (pollMs && data.complete === false) timer = setTimeout(load, pollMs);
        })
        .catch((e) => !stop && setState({ data: null, error: e.message }));
    load();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [url]);
  return state;
}

function useHash() {
  const [hash, setHash] = useState(location.hash || "#/");
  useEffect(() => {
    const on = () => setHash(location.hash || "#/");
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

const fmt = (x, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
const ci = (i) => (i ? `${fmt(i.value, 2)} [${fmt(i.lo, 2)}, ${fmt(i.hi, 2)}]` : "–");
const labelName = (l) => (l === 1 ? "positive" : l === 0 ? "negative" : "unlabelled");
const go = (path) => {
  location.hash = path;
};

function Chart({ spec, onPick }) {
  const el = useRef(null);
  useEffect(() => {
    let view = null;
    window
      .vegaEmbed(el.current, spec, { actions: false, renderer: "svg" })
      .then((r) => {
        view = r.view;
        r.view.addEventListener("click", (_event, item) => {
          const key = item?.datum?.eval ?? item?.datum?.datum?.eval;
          if (key) onPick(key);
        });
      })
      .catch((e) => {
        el.current.textContent = `chart error: ${e.message}`;
      });
    return () => view?.finalize();
  }, [spec]);
  return html`<div class="chart" data-chart=${spec.title ?? ""} ref=${el}></div>`;
}

function Table({ head, rows }) {
  return html`<table>
    <thead><tr>${head.map((x) => html`<th>${x}</th>`)}</tr></thead>
    <tbody>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${String(c)}</td>`)}</tr>`)}</tbody>
  </table>`;
}

function Runs() {
  const { data, error } = useJson("/api/runs");
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  return html`<h1>Runs</h1>
    <table data-testid="runs">
      <thead><tr><th>run</th><th>name</th><th>base model</th><th>cells</th></tr></thead>
      <tbody>
        ${data.map(
          (r) => html`<tr class="clickable" onClick=${() => go(`#/run/${encodeURIComponent(r.id)}`)}>
            <td><a href=${`#/run/${encodeURIComponent(r.id)}`}>${r.id}</a></td><td>${r.name}</td>
            <td>${r.base_model}</td><td>${r.done} / ${r.total}${r.complete ? "" : " (in progress)"}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
}

function Run({ id }) {
  const { data, error } = useJson(`/api/runs/${encodeURIComponent(id)}`, 2000);
  const [a, setA] = useState("");
  const [b, setB] = useState("");
  const [only, setOnly] = useState({ task: "", model: "", format: "", transform: "" });
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  const base = `#/run/${encodeURIComponent(id)}`;
  const open = (key) => go(`${base}/eval/${key}`);
  const metric = new Map(data.metrics.map((m) => [m.key, m]));
  const singles = data.evaluations.filter((e) => e.format === "single" && e.done);
  const shown = data.evaluations.filter((e) => Object.entries(only).every(([k, v]) => !v || e[k] === v));
  const choices = (k) => [...new Set(data.evaluations.map((e) => e[k]))].sort();
  const pickOnly = (k) => (ev) => setOnly({ ...only, [k]: ev.target.value });
  const filter = (k) =>
    html`<label>${k} <select data-testid=${`only-${k}`} onChange=${pickOnly(k)}>
      <option value="">all</option>${choices(k).map((v) => html`<option value=${v}>${v}</option>`)}
    </select></label>`;
  return html`<h1>${data.name}</h1>
    <p>Base model <code>${data.base_model}</code>; ${data.done} of ${data.total} cells done.</p>
    ${
      data.complete
        ? html`<p class="headline" data-testid="headline">${data.headline}</p>`
        : html`<p class="progress" data-testid="progress">${data.headline} Updates as cells finish.</p>`
    }
    ${data.error ? html`<p class="error">${data.error}</p>` : null}
    ${data.sections.map(
      (s) => html`<section data-section=${s.id}>
        <h2>${s.title}</h2>
        <p class="q">${s.question}</p>
        <p class="finding">${s.finding}</p>
        <div class="charts">${s.charts.map((c) => html`<${Chart} key=${c.id} spec=${c.spec} onPick=${open} />`)}</div>
        ${s.tables.map(
          (t) => html`${t.title ? html`<h3>${t.title}</h3>` : null}<${Table} head=${t.head} rows=${t.rows} />`,
        )}
        ${s.note ? html`<p class="q">${s.note}</p>` : null}
      </section>`,
    )}
    <h2>Evaluations</h2>
    <div class="filters">${filter("task")} ${filter("model")} ${filter("format")} ${filter("transform")}</div>
    <table data-testid="evaluations">
      <thead><tr><th>model</th><th>task</th><th>format</th><th>split</th><th>examples</th><th>AUROC</th></tr></thead>
      <tbody>
        ${shown.map(
          (e) => html`<tr class=${e.done ? "clickable" : ""} onClick=${() => e.done && open(e.key)}>
            <td>${e.model}</td><td>${e.task}</td><td>${e.format}</td><td>${e.split}</td>
            <td><${ExampleCount} e=${e} /></td>
            <td>${e.done ? ci(metric.get(e.key)?.auroc) : "not yet"}</td>
          </tr>`,
        )}
      </tbody>
    </table>
    <h2>Two models on the same examples</h2>
    <div class="filters">
      <select data-testid="compare-a" onChange=${(ev) => setA(ev.target.value)}>
        <option value="">first…</option>
        ${singles.map((e) => html`<option value=${e.key}>${e.model} · ${e.task} · ${e.split}</option>`)}
      </select>
      <select data-testid="compare-b" onChange=${(ev) => setB(ev.target.value)}>
        <option value="">second…</option>
        ${singles.map((e) => html`<option value=${e.key}>${e.model} · ${e.task} · ${e.split}</option>`)}
      </select>
      <button disabled=${!a || !b} onClick=${() => go(`${base}/compare/${a}/${b}`)}>compare</button>
    </div>`;
}

function Examples({ id, evalKey }) {
  const [q, setQ] = useState({ label: "all", errors: false, q: "", sort: "p", order: "desc", threshold: 0.5 });
  const params = new URLSearchParams({ ...q, errors: q.errors ? "1" : "0", limit: "500" });
  const url = `/api/runs/${encodeURIComponent(id)}/evals/${evalKey}/examples?${params}`;
  const { data, error } = useJson(url);
  const set = (k, v) => setQ({ ...q, [k]: v });
  const sortBy = (k) => setQ({ ...q, sort: k, order: q.sort === k && q.order === "desc" ? "asc" : "desc" });
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  const e = data.eval;
  const r = data.rates;
  return html`<h1>${e.model} on ${e.task}</h1>
    <p>${e.format} format, ${e.split} split: ${data.total} example(s) shown of the evaluation's rows.</p>
    <div class="filters">
      <label>label <select data-testid="label" value=${q.label} onChange=${(ev) => set("label", ev.target.value)}>
        <option value="all">all</option><option value="positive">positive</option>
        <option value="negative">negative</option>
      </select></label>
      <label><input type="checkbox" data-testid="errors" checked=${q.errors}
        onChange=${(ev) => set("errors", ev.target.checked)} /> errors only</label>
      <label>search <input data-testid="search" value=${q.q} onChange=${(ev) => set("q", ev.target.value)} /></label>
      <label>threshold <input type="range" min="0" max="1" step="0.01" data-testid="threshold" value=${q.threshold}
        onInput=${(ev) => set("threshold", Number(ev.target.value))} /> ${fmt(q.threshold, 2)}</label>
      <span class="rates" data-testid="rates">TPR ${fmt(r.tpr)} · FPR ${fmt(r.fpr)} · accuracy ${fmt(r.accuracy)}</span>
    </div>
    <table data-testid="examples">
      <thead><tr>
        ${["id", "label", "p", "correct", "length"].map(
          (k) =>
            html`<th class="sortable" onClick=${() => sortBy(k)}>${k === "p" ? "P(positive)" : k}${
              q.sort === k ? (q.order === "desc" ? " ▼" : " ▲") : ""
            }</th>`,
        )}
      </tr></thead>
      <tbody>
        ${data.rows.map(
          (x) => html`<tr class=${`clickable ${x.correct === false ? "wrong" : ""}`}
            onClick=${() => go(`#/run/${encodeURIComponent(id)}/eval/${evalKey}/example/${encodeURIComponent(x.id)}`)}>
            <td>${x.id}</td><td>${labelName(x.label)}</td><td>${fmt(x.p)}</td>
            <td class="correct">${x.correct === null ? "–" : x.correct ? "right" : "wrong"}</td><td>${x.length}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
}

/** The text with the world's facts marked (spans from the server; the pieces between them stay plain text). */
function Highlighted({ text, spans }) {
  const out = [];
  let at = 0;
  for (const s of spans) {
    out.push(text.slice(at, s.start));
    const kind = s.fact === "inserted" ? "inserted" : "fact";
    out.push(html`<mark class=${kind} title=${s.fact}>${text.slice(s.start, s.end)}</mark>`);
    at = s.end;
  }
  out.push(text.slice(at));
  return html`<pre data-testid="text">${out}</pre>`;
}

/** An evaluation's examples as scored, the count asked for where it was more, and "small" where intervals are wide. */
function ExampleCount({ e }) {
  const asked = e.examples < e.asked ? ` (of ${e.asked} asked)` : "";
  const small = e.small ? html` <span class="q" title="wide intervals">small</span>` : "";
  return html`${e.examples}${asked}${small}`;
}

/** The folder of a path as written (the log's folder, for Inspect's own viewer). */
function dirOf(path) {
  const at = path.lastIndexOf("/");
  return at > 0 ? path.slice(0, at) : ".";
}

/** Where an imported example came from: its log, sample and epoch, and the command that opens the log in Inspect. */
function Provenance({ p }) {
  const sample = p.sample_id === null ? "" : html`, sample <b>${p.sample_id}</b>`;
  const epoch = p.epoch === null ? "" : `, epoch ${p.epoch}`;
  const source = [p.inspect_task && `Inspect task ${p.inspect_task}`, p.model && `model ${p.model}`].filter(Boolean);
  const open =
    p.log && p.sample_id !== null ? html`: <code>inspect view --log-dir ${dirOf(p.log)}</code> shows the sample` : "";
  return html`<p data-testid="provenance">
    From ${p.log ?? "an imported file"}${sample}${epoch}${source.length ? ` (${source.join(", ")})` : ""}${open}.
  </p>`;
}

function Example({ id, evalKey, exampleId }) {
  const { data, error } = useJson(
    `/api/runs/${encodeURIComponent(id)}/evals/${evalKey}/examples/${encodeURIComponent(exampleId)}`,
  );
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  const tokens = data.answers.map((a) => a.token);
  const verdict = (v) => (v === null ? "none" : v ? "yes" : "no");
  const kept = (k) => (k === null ? "nothing to keep" : k ? "keeps the evidence" : "loses the evidence");
  return html`<h1>${data.task} / ${data.id}</h1>
    <p>Label: <b>${labelName(data.label)}</b>; ${data.model}: P(positive) = <b>${fmt(data.p)}</b>
      ${data.truncated ? " (the text's middle was cut to fit the token budget)" : ""}</p>
    ${data.provenance ? html`<${Provenance} p=${data.provenance} />` : null}
    <h2>The prompt as scored</h2>
    <pre data-testid="prompt">${data.prompt}<mark class="answer">${tokens.join(" | ")}</mark></pre>
    <p class="q">The answer is read at the marked place: ${tokens.map((t) => JSON.stringify(t)).join(" or ")}.</p>
    <h2>The text${
      data.transform
        ? `, ${data.transform.id}: inserted parts marked`
        : data.highlights.length
          ? ", with the world's facts marked"
          : ""
    }</h2>
    <${Highlighted} text=${data.text} spans=${data.highlights} />
    ${
      data.thinking.length
        ? html`<h2>Thinking traces</h2>${data.thinking.map(
            (t) => html`<p>P(positive) ${fmt(t.p)}; verdicts ${t.verdicts.map(verdict).join(", ")}</p>
            <pre>${t.trace}</pre>`,
          )}`
        : null
    }
    ${
      data.summaries.length
        ? html`<h2>Summaries</h2>${data.summaries.map(
            (s) => html`<p>${kept(s.kept)}</p>
            <pre>${s.summary}</pre>`,
          )}`
        : null
    }`;
}

function Compare({ id, a, b }) {
  const { data, error } = useJson(`/api/runs/${encodeURIComponent(id)}/compare?a=${a}&b=${b}`);
  if (error) return html`<p class="error">${error}</p>`;
  if (!data) return html`<p>Loading…</p>`;
  return html`<h1>${data.a.model} vs ${data.b.model} on ${data.a.task}</h1>
    <p data-testid="disagreements">
      ${data.disagreements} of ${data.total} examples decided differently at 0.5 (first).
    </p>
    <table data-testid="compare">
      <thead><tr><th>id</th><th>label</th><th>${data.a.model}</th><th>${data.b.model}</th></tr></thead>
      <tbody>
        ${data.rows.map(
          (x) => html`<tr class=${`clickable ${x.disagree ? "disagree" : ""}`}
            onClick=${() => go(`#/run/${encodeURIComponent(id)}/eval/${a}/example/${encodeURIComponent(x.id)}`)}>
            <td>${x.id}</td><td>${labelName(x.label)}</td><td>${fmt(x.pa)}</td><td>${fmt(x.pb)}</td>
          </tr>`,
        )}
      </tbody>
    </table>`;
}

function App() {
  const hash = useHash();
  const p = hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  let page = html`<${Runs} />`;
  if (p[0] === "run" && p[1]) {
    if (p[2] === "eval" && p[3] && p[4] === "example" && p[5])
      page = html`<${Example} id=${p[1]} evalKey=${p[3]} exampleId=${p[5]} />`;
    else if (p[2] === "eval" && p[3]) page = html`<${Examples} key=${p[3]} id=${p[1]} evalKey=${p[3]} />`;
    else if (p[2] === "compare" && p[3] && p[4]) page = html`<${Compare} id=${p[1]} a=${p[3]} b=${p[4]} />`;
    else page = html`<${Run} key=${p[1]} id=${p[1]} />`;
  }
  return html`<header>
      <a href="#/">crossmon view</a>
      ${
        p[0] === "run" && p[1]
          ? html`<span class="crumbs"> / <a href=${`#/run/${encodeURIComponent(p[1])}`}>${p[1]}</a></span>`
          : null
      }
    </header>
    <main>${page}</main>`;
}

render(html`<${App} />`, document.getElementById("app"));
