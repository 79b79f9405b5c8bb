// libuv's default of 4 threads serializes the file operations of many small files in flight;
// this must run before the first asynchronous file operation, so it is the first import.
process.env.UV_THREADPOOL_SIZE ??= '16';
