// Starts Swagger UI on the gateway's own document (gateway/api/docs_ui.py): no outside host, no
// validator badge (it would call validator.swagger.io). A script file, not inline code, so the page's
// Content-Security-Policy can forbid inline scripts.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.spec,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
