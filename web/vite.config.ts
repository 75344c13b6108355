import { defineConfig } from "vite";

// Built into dist/ and served at / by the local stack: hashed file names under assets/,
// so they can be cached for good.
export default defineConfig({
  build: { outDir: "dist", assetsDir: "assets", target: "es2022", sourcemap: false },
});
