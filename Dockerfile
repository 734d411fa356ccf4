# The official Playwright image of the same version as the `playwright` dependency ships its browsers.
FROM mcr.microsoft.com/playwright:v1.65.1-noble AS build
WORKDIR /app
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM mcr.microsoft.com/playwright:v1.65.1-noble
WORKDIR /app
ENV NODE_ENV=production \
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
COPY --from=build --chown=pwuser:pwuser /app/node_modules ./node_modules
COPY --from=build --chown=pwuser:pwuser /app/dist ./dist
COPY --chown=pwuser:pwuser package.json ./
COPY --chown=pwuser:pwuser config ./config
COPY --chown=pwuser:pwuser src/http/public ./src/http/public
# Owned by pwuser: docker-compose.yml mounts named volumes here, which start as a copy of these
# folders (ownership included). A root-owned bind mount instead is reported at start-up
# ("pasta de artefatos ... não é gravável") and by the logger.
RUN mkdir -p logs artifacts && chown pwuser:pwuser logs artifacts
# Non-root: Chromium runs with its sandbox.
USER pwuser
EXPOSE 3000
# node directly (not npm): SIGTERM reaches the service and its graceful shutdown.
CMD ["node", "dist/main.js"]
