# One image for the ChatIM services and the DingTalk relay; compose.yaml picks the entry file per
# service (`command: [system-under-test/gateway/server.ts]`). TypeScript runs through tsx, as natively.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY system-under-test ./system-under-test
COPY monitoring/relay ./monitoring/relay
COPY harness ./harness
COPY slo ./slo
COPY monitoring ./monitoring
USER node
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["system-under-test/gateway/server.ts"]
