import { defineConfig } from 'vite';

// Reproducible build: no timestamps or absolute paths in the output; file names
// carry content hashes. SPECTRE_CONSOLE_OUT lets a test build into its own folder.
export default defineConfig({
  base: '/',
  build: {
    outDir: process.env.SPECTRE_CONSOLE_OUT || 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    // `npm run dev` against a running spectre-cp (or the mock: `npm run mock`).
    proxy: { '/api': { target: process.env.SPECTRE_API || 'http://127.0.0.1:8480', ws: true } },
  },
});
