// Answers what the assets do not, like the real worker's 404 for unknown paths.
export default {
  fetch() {
    return new Response('{"error":{"code":"not_found","message":"Not found."}}', {
      status: 404,
      headers: { "Content-Type": "application/json" },
    });
  },
};
