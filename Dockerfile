# syntax=docker/dockerfile:1
# Two images from one file:
#   production (default): the engine only, production dependencies, non-root; the brokerage
#     sandbox and the demo are left out. Roles come from ROLES (see Procfile, docker-compose.yml).
#   sandbox: the SnapTrade- and Alpaca-compatible sandbox, for the compose `demo` profile.
# The engine runs its TypeScript through tsx (a production dependency): no build step to drift.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS source
WORKDIR /app
COPY package.json tsconfig.json ./
COPY src ./src
COPY actors ./actors
COPY streams ./streams
COPY migrations ./migrations

FROM source AS engine-source
# The sandbox lives in sandbox/, which no production stage copies; main.ts loads the embedded
# sandbox only when START_SANDBOX is set, which production refuses.
RUN rm -rf src/demo.ts src/app/embedded-sandbox.ts

FROM ${NODE_IMAGE} AS sandbox
ENV NODE_ENV=development SANDBOX_HOST=0.0.0.0
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=source /app ./
COPY sandbox ./sandbox
USER node
EXPOSE 4010 4020
CMD ["node", "--import", "tsx", "sandbox/main.ts"]

FROM ${NODE_IMAGE} AS production
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=engine-source /app ./
USER node
EXPOSE 3000
CMD ["node", "--max-semi-space-size=64", "--import", "tsx", "src/main.ts"]
