// The interactive reference: Swagger UI on the API's own OpenAPI document. A file, not an
// inline script: the Content-Security-Policy allows scripts from this origin only.
window.addEventListener("load", () => {
  window.SwaggerUIBundle({
    url: "/api/schema.json",
    dom_id: "#reference",
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    validatorUrl: null, // never send the document to a third-party validator
  });
});
