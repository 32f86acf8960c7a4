-- `cbpc lsp` for *.cbp files through Neovim's built-in LSP client (Neovim 0.7 and later).
-- Put this in your init.lua, or `dofile` this file from it; `cbpc` must be on PATH.
-- editors/neovim/e2e.lua loads this very file, so the test checks what users copy.
vim.cmd("autocmd BufRead,BufNewFile *.cbp setfiletype cbp")

local cbpc_client
vim.api.nvim_create_autocmd("FileType", {
  pattern = "cbp",
  callback = function(args)
    if not cbpc_client or vim.lsp.client_is_stopped(cbpc_client) then
      cbpc_client = vim.lsp.start_client({
        name = "cbpc",
        cmd = { "cbpc", "lsp" },
        root_dir = vim.fn.getcwd(),
      })
    end
    if cbpc_client then
      vim.lsp.buf_attach_client(args.buf, cbpc_client)
    end
  end,
})
