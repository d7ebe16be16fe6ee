using System.Data.Common;
using ParallelFlow.Engine.Execution;

namespace ParallelFlow.Journal;

/// <summary>One write of the journal's hot path: an attempt that starts, or a task that ends.</summary>
/// <param name="RunId">The run.</param>
/// <param name="TaskId">The task.</param>
/// <param name="Attempt">The attempt that starts (for a start).</param>
/// <param name="At">When it started, as the journal stores times (for a start).</param>
/// <param name="MarkRunning">Whether the start marks the task running (not when it also ends in the same batch).</param>
/// <param name="Finished">The task that ended; null for a start.</param>
/// <param name="Components">The cache key's components of the ended task, as JSON.</param>
/// <param name="KeepRecorded">Whether a row already recorded for the task stands (a restored task's output).</param>
internal readonly record struct TaskWrite(string RunId, string TaskId, int Attempt, string? At, bool MarkRunning, TaskRunResult? Finished, string? Components, bool KeepRecorded);

/// <summary>
/// Where a journal's rows live. <see cref="RunJournal"/> holds the queries, which are the same on every store; a store
/// gives connections, its dialect's few differences, its schema's migrations, the hot path's prepared writes, and
/// what its errors mean to the person who runs ParallelFlow.
/// </summary>
internal abstract class JournalStore : IDisposable
{
    /// <summary>What the journal is shown and resumed as: its file, or its server and database (never a password).</summary>
    public abstract string Location { get; }

    /// <summary>The column that orders a table's rows as they were written.</summary>
    public abstract string WriteOrder { get; }

    /// <summary>A connection for one operation, used by one caller at a time until the session is disposed.</summary>
    public abstract JournalSession Open();

    /// <summary>Creates or upgrades the schema to <see cref="RunJournal.SchemaVersion"/>.</summary>
    /// <param name="create">False to refuse a database that holds no journal yet.</param>
    public abstract void Migrate(bool create);

    /// <summary>Writes attempts and ended tasks inside the session's transaction.</summary>
    public abstract void WriteTasks(JournalSession session, IReadOnlyList<TaskWrite> writes);

    /// <summary>Writes attempts and ended tasks inside the session's transaction, without blocking a thread on a server.</summary>
    public virtual ValueTask WriteTasksAsync(JournalSession session, IReadOnlyList<TaskWrite> writes, CancellationToken cancellationToken)
    {
        WriteTasks(session, writes);
        return ValueTask.CompletedTask;
    }

    /// <summary>Text as the store can keep it (PostgreSQL's text cannot hold U+0000).</summary>
    public virtual string? Text(string? value) => value;

    /// <summary>What a database error means, naming the journal and what to do; null for an error that is not the database's.</summary>
    public abstract JournalException? Explain(Exception error);

    /// <inheritdoc/>
    public abstract void Dispose();
}

/// <summary>A connection lent for one operation, with its transaction when one is open; a connection of its own
/// (<paramref name="owned"/>) is closed with it, back to its pool.</summary>
internal class JournalSession(DbConnection connection, bool owned) : IDisposable
{
    public DbConnection Connection { get; } = connection;

    public DbTransaction? Transaction { get; private set; }

    public void Begin() => Transaction = Connection.BeginTransaction();

    public async ValueTask BeginAsync(CancellationToken cancellationToken) => Transaction = await Connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);

    public void Commit() => Transaction!.Commit();

    public DbCommand Command(string sql, params (string Name, object? Value)[] parameters)
    {
        var command = Connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = Transaction;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    public int Execute(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteNonQuery();
    }

    public object? Scalar(string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(sql, parameters);
        return command.ExecuteScalar() is var value && value is DBNull ? null : value;
    }

    public virtual void Dispose()
    {
        Transaction?.Dispose();
        if (owned)
        {
            Connection.Dispose();
        }
    }
}
