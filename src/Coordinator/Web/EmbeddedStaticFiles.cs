using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;

namespace MmCluster.Coordinator.Web;

/// <summary>
/// The page's files, embedded in the coordinator assembly from <c>src/Coordinator/Web/wwwroot/</c> (resource names
/// <c>wwwroot/&lt;path&gt;</c>), read once and served from memory with their content type, an ETag and
/// <c>Cache-Control: no-cache</c> (a browser revalidates, so a new build's page is never stale). They hold no run data,
/// so they need no token. <c>/</c> is <c>index.html</c>.
/// </summary>
public sealed class EmbeddedStaticFiles
{
    private const string Prefix = "wwwroot/";
    private readonly Dictionary<string, StaticFile> _files;

    private EmbeddedStaticFiles(Dictionary<string, StaticFile> files) => _files = files;

    /// <summary>Paths (without a leading slash) of every file served, e.g. <c>index.html</c>.</summary>
    public IReadOnlyCollection<string> Paths => _files.Keys;

    public static EmbeddedStaticFiles Load(Assembly assembly)
    {
        var types = new FileExtensionContentTypeProvider();
        var files = new Dictionary<string, StaticFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            var path = name.Replace('\\', '/');
            if (!path.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var type = types.TryGetContentType(path, out var known) ? known : "application/octet-stream";
            if (type.StartsWith("text/", StringComparison.Ordinal) || type is "application/json" or "image/svg+xml")
            {
                type += "; charset=utf-8";
            }
            var etag = $"\"{Convert.ToHexString(SHA256.HashData(bytes), 0, 16).ToLowerInvariant()}\"";
            files[path[Prefix.Length..]] = new StaticFile(bytes, type, etag);
        }
        return new EmbeddedStaticFiles(files);
    }

    /// <summary>Serves the file at the request's path; false when there is none (the caller answers 404).</summary>
    public async Task<bool> TryServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value is null or "/" ? "index.html" : context.Request.Path.Value.TrimStart('/');
        if (!_files.TryGetValue(path, out var file))
        {
            return false;
        }
        var response = context.Response;
        response.Headers.CacheControl = "no-cache";
        response.Headers.ETag = file.ETag;
        response.Headers.XContentTypeOptions = "nosniff";
        // The page's URL may carry ?token=: never send it on to another site.
        response.Headers["Referrer-Policy"] = "no-referrer";
        if (context.Request.Headers.IfNoneMatch.Contains(file.ETag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return true;
        }
        response.ContentType = file.ContentType;
        response.ContentLength = file.Bytes.Length;
        if (!HttpMethods.IsHead(context.Request.Method))
        {
            await response.Body.WriteAsync(file.Bytes, context.RequestAborted);
        }
        return true;
    }

    private sealed record StaticFile(byte[] Bytes, string ContentType, string ETag);
}
