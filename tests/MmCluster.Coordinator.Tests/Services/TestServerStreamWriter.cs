using System.Threading.Channels;
using Grpc.Core;

namespace MmCluster.Coordinator.Tests.Services;

/// <summary>A fake <see cref="IServerStreamWriter{T}"/> whose messages a test reads as they are written.</summary>
internal sealed class TestServerStreamWriter<T> : IServerStreamWriter<T>
    where T : class
{
    private readonly Channel<T> _channel = Channel.CreateUnbounded<T>();

    public WriteOptions? WriteOptions { get; set; }

    public Task WriteAsync(T message)
    {
        _channel.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    public void Complete() => _channel.Writer.TryComplete();

    public async Task<T> ReadNextAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _channel.Reader.ReadAsync(timeout.Token);
    }

    public IReadOnlyList<T> Drain()
    {
        var messages = new List<T>();
        while (_channel.Reader.TryRead(out var message))
        {
            messages.Add(message);
        }
        return messages;
    }
}
