# syntax=docker/dockerfile:1
# One image for every role: `api`, `worker`, `all`, `emulator` (the command picks).
# The TypeScript is compiled in a build stage; the runtime holds the compiled
# JavaScript and production dependencies only, so no compiler loads in the
# service's processes (each is about 35 MB smaller than running the sources).

ARG NODE_IMAGE=node:22-bookworm-slim

# Compiles src/ to dist/ with the full (dev) dependencies; only dist/ leaves this stage.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Production dependencies only, installed on Linux so native pieces match the
# runtime; nothing of the build tooling is kept.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
# file:// storage defaults to /data, the one folder the service may write
# (the relative default ./data would be /app/data, read-only here).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    STORAGE_URL=file:///data
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY fixtures ./fixtures
# Files stay owned by root and read-only to the service; it writes only its work
# folder (/tmp) and, with file:// storage, /data.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 3000
# Liveness of the HTTP roles (no curl in slim images: Node's fetch does it).
# The worker role has no HTTP server; compose turns this check off for it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: no shell in between to swallow SIGTERM, so Node receives it and
# shuts down gracefully (stops HTTP, lets jobs finish or hands them back).
# Node handles SIGTERM/SIGINT itself, so it behaves as PID 1 too; compose adds
# an init (init: true) to reap any stray child.
ENTRYPOINT ["node", "dist/main.js"]
CMD ["all"]
