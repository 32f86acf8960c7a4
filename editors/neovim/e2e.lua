-- End-to-end check of `cbpc lsp` through Neovim's own LSP client, run headless:
--
--   CBP_E2E='{"file": "rules.cbp", "out": "/tmp/out.json", "hover": [5, 12],
--             "definition": [4, 11], "fix": {"line": 10, "text": "    on g: flood_warning"}}' \
--   nvim --headless -n -i NONE -u NONE -c 'luafile editors/neovim/e2e.lua'
--
-- (compiler/cbpc/tests/neovim_e2e.rs does this in a temporary workspace.) Positions are
-- Neovim's: 1-based lines, 0-based byte columns. The script loads the user configuration
-- next to it (cbp.lua), opens `file`, and writes what the editor saw to `out` as JSON:
-- the diagnostics, the hover window's lines, where "go to definition" moved the cursor and
-- the diagnostics after replacing line `fix.line` with `fix.text`. It exits with 1 (and an
-- `error` in `out`) when a step times out; the caller asserts on the answers.
local spec = vim.fn.json_decode(os.getenv("CBP_E2E") or "{}")
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local result = { steps = {} }

local function finish(code)
  local f = io.open(spec.out, "w")
  if f then
    f:write(vim.fn.json_encode(result))
    f:close()
  end
  vim.cmd((code == 0 and "qall!" or "cquit! " .. code))
end

local function fail(message)
  result.error = message
  finish(1)
end

local function wait(what, ms, condition)
  if not vim.wait(ms, condition, 20) then
    fail("timed out waiting for " .. what)
    return false
  end
  table.insert(result.steps, what)
  return true
end

local function diagnostics(buf)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    table.insert(out, { code = d.code, line = d.lnum + 1, col = d.col, message = d.message })
  end
  return out
end

local function run()
  dofile(here .. "cbp.lua")
  vim.cmd("edit " .. vim.fn.fnameescape(spec.file))
  local buf = vim.api.nvim_get_current_buf()

  if not wait("the client to attach", 10000, function()
    return #vim.lsp.buf_get_clients(buf) > 0
  end) then return end
  if not wait("diagnostics", 10000, function()
    return #vim.diagnostic.get(buf) > 0
  end) then return end
  result.diagnostics = diagnostics(buf)

  -- Hover: the floating window vim.lsp.buf.hover() opens.
  vim.api.nvim_win_set_cursor(0, spec.hover)
  local before = vim.api.nvim_list_wins()
  vim.lsp.buf.hover()
  local float
  if not wait("the hover window", 10000, function()
    for _, w in ipairs(vim.api.nvim_list_wins()) do
      if not vim.tbl_contains(before, w) and vim.api.nvim_win_get_config(w).relative ~= "" then
        float = w
        return true
      end
    end
    return false
  end) then return end
  result.hover = vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(float), 0, -1, false)
  vim.api.nvim_win_close(float, true)

  -- Go to definition: where the cursor lands.
  vim.api.nvim_win_set_cursor(0, spec.definition)
  vim.lsp.buf.definition()
  if not wait("the definition jump", 10000, function()
    local cursor = vim.api.nvim_win_get_cursor(0)
    return vim.api.nvim_get_current_buf() ~= buf
      or cursor[1] ~= spec.definition[1] or cursor[2] ~= spec.definition[2]
  end) then return end
  local cursor = vim.api.nvim_win_get_cursor(0)
  result.definition = {
    file = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ":t"),
    line = cursor[1],
    col = cursor[2],
  }

  -- An edit that fixes the error: the server republishes, the diagnostics go.
  if spec.fix then
    vim.api.nvim_set_current_buf(buf)
    vim.api.nvim_buf_set_lines(buf, spec.fix.line - 1, spec.fix.line, false, { spec.fix.text })
    if not wait("diagnostics to clear after the fix", 10000, function()
      return #vim.diagnostic.get(buf) == 0
    end) then return end
    result.after_fix = diagnostics(buf)
  end
  finish(0)
end

local ok, err = pcall(run)
if not ok then
  fail("error: " .. tostring(err))
end
