// `npm run check`: validates the extension without VS Code.
// - package.json, language-configuration.json and the grammar parse as JSON, and every file
//   package.json points at exists;
// - every regular expression of the grammar compiles with Oniguruma (vscode-oniguruma, the
//   engine VS Code runs TextMate grammars with);
// - the grammar (through vscode-textmate, as VS Code loads it) tokenizes every shipped policy
//   and standard-library file, and a sample line gets the scopes it should.
// Exits with 1 and a list of problems on failure.
"use strict";
const fs = require("fs");
const path = require("path");

const here = path.join(__dirname, "..");
const repo = path.join(here, "..", "..");
const problems = [];

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(path.join(here, file), "utf8"));
  } catch (e) {
    problems.push(`${file}: ${e.message}`);
    return undefined;
  }
}

function exists(file, what) {
  if (!fs.existsSync(path.join(here, file))) problems.push(`${what}: ${file} does not exist`);
}

const pkg = readJson("package.json") || {};
readJson("language-configuration.json");
exists(pkg.main || "", "package.json main");
for (const lang of (pkg.contributes || {}).languages || []) {
  exists(lang.configuration, `language ${lang.id}`);
}
const grammars = ((pkg.contributes || {}).grammars || []).map((g) => {
  exists(g.path, `grammar ${g.scopeName}`);
  const grammar = readJson(g.path);
  if (grammar && grammar.scopeName !== g.scopeName) {
    problems.push(`${g.path}: scopeName ${grammar.scopeName}, package.json says ${g.scopeName}`);
  }
  return { ...g, grammar };
});
for (const dep of Object.keys(pkg.dependencies || {})) {
  try {
    require.resolve(dep, { paths: [here] });
  } catch (e) {
    problems.push(`dependency ${dep} is not installed (run npm install)`);
  }
}

// Every `match`, `begin`, `end` and `while` in the grammar, with where it is.
function regexes(node, where, out) {
  if (Array.isArray(node)) {
    node.forEach((n, i) => regexes(n, `${where}[${i}]`, out));
  } else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (["match", "begin", "end", "while"].includes(key) && typeof value === "string") {
        out.push({ where: `${where}.${key}`, source: value });
      } else {
        regexes(value, `${where}.${key}`, out);
      }
    }
  }
  return out;
}

function cbpFiles(dir) {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".cbp"))
    .map((f) => path.join(dir, f));
}

async function main() {
  const onig = require("vscode-oniguruma");
  const vsctm = require("vscode-textmate");
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await onig.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));

  for (const g of grammars.filter((g) => g.grammar)) {
    for (const r of regexes(g.grammar, g.path, [])) {
      try {
        new onig.OnigScanner([r.source]).dispose();
      } catch (e) {
        problems.push(`${r.where}: ${e.message}: ${r.source}`);
      }
    }
  }

  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new onig.OnigScanner(sources),
      createOnigString: (s) => new onig.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      const g = grammars.find((g) => g.scopeName === scopeName);
      return g && g.grammar ? vsctm.parseRawGrammar(JSON.stringify(g.grammar), "x.json") : null;
    },
  });
  const grammar = await registry.loadGrammar("source.cbp");
  if (!grammar) {
    problems.push("source.cbp: the grammar does not load");
    return;
  }
  const tokenize = (text) => {
    let stack = vsctm.INITIAL;
    return text.split("\n").map((line) => {
      const r = grammar.tokenizeLine(line, stack);
      stack = r.ruleStack;
      return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
    });
  };

  let files = 0;
  for (const file of [...cbpFiles(path.join(repo, "policies")), ...cbpFiles(path.join(repo, "stdlib"))]) {
    try {
      tokenize(fs.readFileSync(file, "utf8"));
      files += 1;
    } catch (e) {
      problems.push(`${path.relative(repo, file)}: tokenizing failed: ${e.message}`);
    }
  }
  if (files === 0) problems.push("no policies/*.cbp or stdlib/*.cbp file was tokenized");

  // A line of a rule: what each word should be coloured as.
  const [line] = tokenize('    on f: flood_warning // "not a string"');
  const scopeOf = (text) => (line.find((t) => t.text === text) || { scopes: [] }).scopes.join(" ");
  const expected = {
    on: "keyword.control.cbp",
    f: "variable.other.cbp",
    flood_warning: "entity.name.type.cbp",
    '// "not a string"': "comment.line.double-slash.cbp",
  };
  for (const [text, scope] of Object.entries(expected)) {
    if (!scopeOf(text).includes(scope)) {
      problems.push(`sample line: \`${text}\` has scopes \`${scopeOf(text)}\`, expected ${scope}`);
    }
  }
  console.log(`tokenized ${files} .cbp files with ${grammars.length} grammar(s)`);
}

main()
  .catch((e) => problems.push(`check failed: ${e.stack || e}`))
  .then(() => {
    if (problems.length > 0) {
      console.error(problems.map((p) => `error: ${p}`).join("\n"));
      process.exit(1);
    }
    console.log("extension check passed");
  });
