/* fl_status.h - status codes shared by every csrc/core module.
 *
 * Core functions report errors by returning one of these codes; they never
 * abort, print or allocate behind the caller's back.  After an error the
 * object a function was working on is left in the state its header names.
 */
#ifndef FL_STATUS_H
#define FL_STATUS_H

enum fl_status {
    FL_OK = 0,
    FL_EINVAL = 1,   /* an argument is outside its documented range */
    FL_ENOMEM = 2,   /* an allocation failed; nothing was changed */
    FL_EOVERFLOW = 3, /* a size computation would overflow */
    FL_EFULL = 4,     /* a configured memory cap is reached; unchanged */
    FL_EAGAIN = 5     /* not this function's case; nothing was changed */
};

#endif /* FL_STATUS_H */
